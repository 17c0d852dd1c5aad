//! `sealshare`: end-to-end encrypted sharing from the command line. A store
//! folder plays the untrusted server (SQLite and blob files); each user has a
//! profile folder with their keystore and verified state, sealed at rest.

mod backend;
mod commands;
mod demo;
mod profile;
mod store;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// End-to-end encrypted sharing of collections.
#[derive(Parser)]
#[command(name = "sealshare", version, about)]
pub struct Cli {
    /// The folder holding profiles (default: ~/.sealshare).
    #[arg(long, global = true, env = "SEALSHARE_HOME")]
    pub home: Option<PathBuf>,
    /// Which profile (user) acts.
    #[arg(
        long,
        global = true,
        env = "SEALSHARE_PROFILE",
        default_value = "default"
    )]
    pub profile: String,
    /// The store folder that plays the server (default: <home>/store).
    #[arg(
        long,
        global = true,
        env = "SEALSHARE_STORE",
        conflicts_with = "server"
    )]
    pub store: Option<PathBuf>,
    /// A sealshare-server to use instead of the store folder, for example
    /// http://127.0.0.1:8080: every request is signed by the account.
    #[arg(long, global = true, env = "SEALSHARE_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// For an https:// server whose certificate is self-signed or from a
    /// certificate authority of its own: a PEM file of the only root
    /// certificates to trust (by default, Mozilla's roots, bundled).
    #[arg(
        long,
        global = true,
        env = "SEALSHARE_SERVER_ROOTS",
        value_name = "FILE",
        requires = "server"
    )]
    pub server_roots: Option<PathBuf>,
    /// Print listings and results (ids, fingerprints, safety numbers) as JSON;
    /// commands that only change something print a sentence, and every command
    /// reports success or failure by its exit code.
    #[arg(long, global = true)]
    pub json: bool,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// A role from the roles table.
#[derive(Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Reads.
    Viewer,
    /// Reads and adds.
    Collaborator,
    /// Edits anyone's items.
    Editor,
    /// Manages members and links.
    Admin,
}

impl From<RoleArg> for sealshare::Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Viewer => Self::Viewer,
            RoleArg::Collaborator => Self::Collaborator,
            RoleArg::Editor => Self::Editor,
            RoleArg::Admin => Self::Admin,
        }
    }
}

/// Which collections to list.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Filter {
    /// Every collection this user is in.
    All,
    /// Those this user owns.
    Mine,
    /// Those shared with this user (accepted).
    Shared,
    /// Those this user is not in yet: shares to accept, joins awaiting
    /// approval, invitations by handle.
    Pending,
}

/// The commands.
#[derive(Subcommand)]
pub enum Command {
    /// Create, show or unlock the account.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Export this user's identity card, or import someone's.
    #[command(subcommand)]
    Identity(IdentityCmd),
    /// Show the safety number with a user; `--confirm` marks them verified.
    Verify {
        /// Their handle.
        handle: String,
        /// Confirm after comparing the numbers in person.
        #[arg(long)]
        confirm: bool,
        /// Confirm the card the store now has for the handle in place of the
        /// pinned one (after the user learned, in person, that they have new
        /// keys); both fingerprints are shown.
        #[arg(long)]
        confirm_change: bool,
    },
    /// Collections: create, list, members, history.
    #[command(subcommand)]
    Collection(CollectionCmd),
    /// Add a file or a folder tree.
    Put {
        /// The collection (id or name).
        collection: String,
        /// The file or folder to add.
        path: PathBuf,
        /// The folder (item id) to put it in.
        #[arg(long)]
        into: Option<String>,
    },
    /// Write a file's content out (to a file, or stdout).
    Get {
        /// The collection.
        collection: String,
        /// The item id or name.
        item: String,
        /// Where to write (default: stdout).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// List items.
    Ls {
        /// The collection.
        collection: String,
    },
    /// Move an item (or a folder with everything in it) into a folder.
    Mv {
        /// The collection.
        collection: String,
        /// The item id or name.
        item: String,
        /// The folder (id or name); the top of the collection if absent.
        #[arg(long)]
        into: Option<String>,
    },
    /// Move an item to the trash.
    Trash {
        /// The collection.
        collection: String,
        /// The item id or name.
        item: String,
    },
    /// Restore an item from the trash.
    Restore {
        /// The collection.
        collection: String,
        /// The item id or name.
        item: String,
    },
    /// Delete a trashed item for good.
    Purge {
        /// The collection.
        collection: String,
        /// The item id or name.
        item: String,
    },
    /// Share a collection with a user at a role.
    Share {
        /// The collection.
        collection: String,
        /// Their handle (their card is fetched from the store and pinned).
        handle: String,
        /// The role.
        #[arg(long, value_enum, default_value = "viewer")]
        role: RoleArg,
    },
    /// Accept a share.
    Accept {
        /// The collection.
        collection: String,
    },
    /// Change a member's role.
    Role {
        /// The collection.
        collection: String,
        /// The member.
        handle: String,
        /// The new role.
        #[arg(value_enum)]
        role: RoleArg,
    },
    /// Remove a member (the key rotates).
    Remove {
        /// The collection.
        collection: String,
        /// The member.
        handle: String,
    },
    /// Leave a collection (or decline a share).
    Leave {
        /// The collection.
        collection: String,
    },
    /// Remove every member but the owner.
    Unshare {
        /// The collection.
        collection: String,
    },
    /// Make a member the owner.
    Transfer {
        /// The collection.
        collection: String,
        /// The new owner.
        handle: String,
    },
    /// Invite links.
    #[command(subcommand)]
    Invite(InviteCmd),
    /// Public links.
    #[command(subcommand)]
    Link(LinkCmd),
    /// Print a collection's verified changes as they arrive (on a server,
    /// by long polling; on the store folder, by checking every second),
    /// one history line each, until interrupted or `--count` were printed.
    Watch {
        /// The collection.
        collection: String,
        /// Stop after this many changes.
        #[arg(long)]
        count: Option<u64>,
    },
    /// Three users play the whole story in a temporary folder.
    Demo,
}

/// Account commands.
#[derive(Subcommand)]
pub enum AccountCmd {
    /// Create the account (password from SEALSHARE_PASSWORD or stdin).
    Create {
        /// The handle (user id).
        handle: String,
        /// Make the account on this profile only: publish no card and
        /// register no sign-in. For coming back under a handle whose card
        /// is another (every device, password and recovery phrase lost):
        /// give `account card --out FILE` to the server's operator, who
        /// resets the account to it; then `account register-sign-in`.
        #[arg(long)]
        no_publish: bool,
    },
    /// Write this account's card (its bytes, as it is published) to a file:
    /// what a server's operator resets an account to
    /// (`sealshare-server reset-account --card FILE HANDLE`).
    Card {
        /// The file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// On the server: publish this account's card if it is not there yet,
    /// and register sign-in for new devices with the password
    /// (SEALSHARE_PASSWORD or stdin) and, with --recovery, the recovery
    /// phrase (SEALSHARE_RECOVERY_PHRASE or stdin). After
    /// `account create --no-publish` and the operator's reset, which
    /// deletes the old account's sign-in.
    RegisterSignIn {
        /// Register the recovery phrase too.
        #[arg(long)]
        recovery: bool,
    },
    /// Show handle and fingerprint.
    Show,
    /// Check the password: open the keystore and the saved state, change nothing.
    Unlock,
    /// Change the password (new one from SEALSHARE_NEW_PASSWORD or stdin).
    ChangePassword,
    /// Set a new password with the recovery phrase (from
    /// SEALSHARE_RECOVERY_PHRASE or stdin; new password from SEALSHARE_NEW_PASSWORD or stdin).
    Recover,
    /// Bring an account from the server onto this (new) profile: a second
    /// device. Proves the password (SEALSHARE_PASSWORD or stdin) to the
    /// server, or with --recovery the recovery phrase (SEALSHARE_RECOVERY_PHRASE
    /// or stdin) and then sets a new password (SEALSHARE_NEW_PASSWORD or stdin).
    SignIn {
        /// The handle.
        handle: String,
        /// Prove the recovery phrase instead of the password.
        #[arg(long)]
        recovery: bool,
    },
}

/// Identity commands.
#[derive(Subcommand)]
pub enum IdentityCmd {
    /// Print this user's card as text.
    Export,
    /// Pin a card from a file (text form).
    Import {
        /// The file.
        file: PathBuf,
    },
}

/// Collection commands.
#[derive(Subcommand)]
pub enum CollectionCmd {
    /// Create a collection.
    Create {
        /// Its name.
        name: String,
        /// Its description.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List collections.
    List {
        /// Which.
        #[arg(long, value_enum, default_value = "all")]
        filter: Filter,
    },
    /// Members, roles, who added them, when they accepted.
    Members {
        /// The collection.
        collection: String,
    },
    /// The verified history.
    History {
        /// The collection.
        collection: String,
    },
}

/// Invite-link commands.
#[derive(Subcommand)]
pub enum InviteCmd {
    /// Create an invite link.
    Create {
        /// The collection.
        collection: String,
        /// The role it grants.
        #[arg(long, value_enum, default_value = "viewer")]
        role: RoleArg,
        /// Seconds it stays valid.
        #[arg(long, default_value_t = 3600)]
        valid_for: u64,
        /// How many may join (0: no limit).
        #[arg(long, default_value_t = 0)]
        uses: u32,
        /// Each join needs an admin's approval.
        #[arg(long)]
        approval: bool,
    },
    /// List links and who joined.
    List {
        /// The collection.
        collection: String,
    },
    /// Revoke a link (or all with `--all`).
    Revoke {
        /// The collection.
        collection: String,
        /// The link id.
        link: Option<String>,
        /// Revoke every link.
        #[arg(long)]
        all: bool,
    },
    /// Join through an invite link.
    Join {
        /// The URL.
        url: String,
    },
}

/// Public-link commands.
#[derive(Subcommand)]
pub enum LinkCmd {
    /// Create a public link.
    Create {
        /// The collection.
        collection: String,
        /// A snapshot of the collection as it is now (default: live).
        #[arg(long)]
        snapshot: bool,
        /// Protect the link with a password readers must also know, taken from
        /// SEALSHARE_LINK_PASSWORD or asked for (never given on the command
        /// line, where other users of the machine could read it).
        #[arg(long)]
        password: bool,
        /// Seconds it stays valid.
        #[arg(long, default_value_t = 7 * 24 * 3600)]
        valid_for: u64,
    },
    /// List a collection's links (invite and public) with their state.
    List {
        /// The collection.
        collection: String,
    },
    /// Revoke a link (or all with `--all`); a link that carries a key rotates it.
    Revoke {
        /// The collection.
        collection: String,
        /// The link id.
        link: Option<String>,
        /// Revoke every link.
        #[arg(long)]
        all: bool,
    },
    /// Open a public link (no account needed): list, or get one item.
    Open {
        /// The URL.
        url: String,
        /// The link has a password: take it from SEALSHARE_LINK_PASSWORD or
        /// ask for it (setting SEALSHARE_LINK_PASSWORD is enough).
        #[arg(long)]
        password: bool,
        /// Write this item's content (name or id) to `--output` or stdout.
        #[arg(long)]
        get: Option<String>,
        /// Where to write.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sealshare: {}", commands::explain(&e));
            ExitCode::FAILURE
        }
    }
}
