//! The capture reader on arbitrary bytes: every frame it gives is taken
//! apart to UDP. No input may panic; a datagram's payload lies inside its
//! frame; reading ends, with or without an error.
#![no_main]

use flowsage_ingest::capture::{CaptureReader, Tally};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|file: &[u8]| {
    let Ok(mut reader) = CaptureReader::new(file) else { return };
    let mut tally = Tally::default();
    while let Ok(Some(frame)) = reader.next_frame() {
        let outcome = frame.udp();
        if let Ok(udp) = &outcome {
            assert!(udp.payload.len() + 8 <= frame.data.len(), "a payload longer than its frame");
        }
        tally.count(&outcome);
    }
    assert!(tally.frames <= file.len() as u64 / 12, "more frames than the file has room for");
});
