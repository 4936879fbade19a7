//! The core without std or alloc: uppercase a fixed text into a caller's
//! buffer through `Codec::feed_into`, a 5-byte output slice at a time.
#![no_std]

use upcase::{Casing, Codec, CoderResult, Config, InvalidUtf8};

/// Uppercases "straße ΐ" into `out`; returns the length, or 0 on error.
#[no_mangle]
pub extern "C" fn upcase_no_alloc_demo(out: &mut [u8; 64]) -> usize {
    let mut codec = Codec::new(Config::new(Casing::Unicode, InvalidUtf8::Reject));
    let mut input = "straße ΐ".as_bytes();
    let mut len = 0;
    loop {
        let end = (len + 5).min(out.len());
        let (result, read, written) = codec.feed_into(input, &mut out[len..end], true);
        input = &input[read..];
        len += written;
        match result {
            Ok(CoderResult::InputEmpty) => return len,
            Ok(CoderResult::OutputFull) if len < out.len() => {}
            _ => return 0,
        }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
