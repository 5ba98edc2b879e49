//! The memory a YAML stream costs to read: the text plus what is kept from it, never a
//! generic value of every document at once (a 200 MB stream of NetworkPolicies peaked at
//! 4.7 GiB, 24 times its size, that way). Its own test binary, as it counts every
//! allocation of the process.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use zero_trust::eval::{Inputs, load_str};

/// The system allocator, counting the bytes in use and the peak since the last reset.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(pointer, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn reading_a_stream_holds_one_document_at_a_time() {
    // Objects of a kind the evaluator skips: nothing is kept, so all that reading them
    // may cost beyond the text is one document's parse.
    let document = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels: {a: b, c: d}\ndata:\n  k1: v1\n  k2: [1, 2, 3]\n  k3: {x: y}\n";
    let text = document.repeat(4 * 1024 * 1024 / document.len());
    let mut inputs = Inputs::default();
    let before = IN_USE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    load_str(&mut inputs, Path::new("many.yaml"), &text).expect("loads");
    let extra = PEAK.load(Ordering::Relaxed) - before;
    assert!(inputs.policies.is_empty());
    // Generic values of every document at once took many times the text; what remains is
    // the first line of each document (8 bytes, much for these 110-byte documents).
    assert!(
        extra < text.len() / 4,
        "reading {} bytes of YAML took {extra} more bytes at its peak",
        text.len()
    );
}
