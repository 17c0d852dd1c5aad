#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sealshare_fuzz_targets::verify_adversarial_log(data));
