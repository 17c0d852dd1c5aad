#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sealshare_fuzz_targets::decode_request_auth(data));
