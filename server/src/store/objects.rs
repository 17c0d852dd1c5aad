//! Where the blobs are kept ([`BlobStorage`]): the data folder (the
//! default, `object_store`'s `LocalFileSystem` rooted at `DIR`), or an
//! S3-compatible bucket (`AmazonS3`, configured from the `AWS_*`
//! environment variables), both behind [`ObjectStore`].

use std::path::Path;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, S3CopyIfNotExists};
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;

use super::StoreError;

/// Where a store keeps its blobs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum BlobStorage {
    /// The data folder: `DIR/blobs/<collection id text>/<hex hash>`, written
    /// through `DIR/tmp/`.
    #[default]
    Folder,
    /// An S3-compatible bucket: `[PREFIX/]blobs/<collection id text>/<hex
    /// hash>`, written through `[PREFIX/]tmp/<pid>-<random>/`.
    S3 {
        /// The bucket's name.
        bucket: String,
        /// The keys' prefix in the bucket, without slashes at either end;
        /// empty for none.
        prefix: String,
    },
}

/// Why a `--blobs` value was not understood.
#[derive(Debug, thiserror::Error)]
#[error("not a blob storage URL: {0:?} (expected s3://BUCKET or s3://BUCKET/PREFIX)")]
pub struct BadBlobStorage(String);

impl std::str::FromStr for BlobStorage {
    type Err = BadBlobStorage;

    /// Parses `s3://BUCKET[/PREFIX]`: a non-empty bucket name, and a prefix
    /// whose empty segments are dropped.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let rest = text
            .strip_prefix("s3://")
            .ok_or_else(|| BadBlobStorage(text.to_owned()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(BadBlobStorage(text.to_owned()));
        }
        let prefix: Vec<&str> = prefix.split('/').filter(|s| !s.is_empty()).collect();
        Ok(Self::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.join("/"),
        })
    }
}

impl BlobStorage {
    /// The object store of this storage, for the data folder `dir` (which
    /// exists). For S3 the configuration comes from the `AWS_*` environment
    /// variables (`AmazonS3Builder::from_env`); unless
    /// `AWS_COPY_IF_NOT_EXISTS` says otherwise, a create-only copy is made
    /// as a one-part multipart copy completed with `If-None-Match: *`
    /// ([`S3CopyIfNotExists::Multipart`]), which S3 itself honours.
    pub(super) fn open(&self, dir: &Path) -> Result<Arc<dyn ObjectStore>, StoreError> {
        match self {
            Self::Folder => Ok(Arc::new(LocalFileSystem::new_with_prefix(dir)?)),
            Self::S3 { bucket, prefix } => {
                let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
                if builder
                    .get_config_value(&AmazonS3ConfigKey::CopyIfNotExists)
                    .is_none()
                {
                    builder = builder.with_copy_if_not_exists(S3CopyIfNotExists::Multipart);
                }
                let s3 = builder.build()?;
                if prefix.is_empty() {
                    Ok(Arc::new(s3))
                } else {
                    Ok(Arc::new(PrefixStore::new(s3, prefix.as_str())))
                }
            }
        }
    }

    /// Whether the blobs are in the data folder.
    pub fn is_folder(&self) -> bool {
        matches!(self, Self::Folder)
    }
}

#[cfg(test)]
mod tests {
    use super::BlobStorage;

    #[test]
    fn s3_urls_parse() {
        let s3 = |bucket: &str, prefix: &str| BlobStorage::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        };
        assert_eq!("s3://b".parse::<BlobStorage>().unwrap(), s3("b", ""));
        assert_eq!("s3://b/".parse::<BlobStorage>().unwrap(), s3("b", ""));
        assert_eq!(
            "s3://b/x//y/".parse::<BlobStorage>().unwrap(),
            s3("b", "x/y")
        );
        for bad in ["", "s3://", "s3:///x", "/data", "file:///x", "gs://b"] {
            assert!(bad.parse::<BlobStorage>().is_err(), "{bad}");
        }
    }
}
