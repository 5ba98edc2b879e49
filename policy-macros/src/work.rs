//! A count of the steps the macro's searches take, so tests can bound the work of a big
//! input without timing it on a noisy machine. Outside tests it compiles to nothing.

#[cfg(test)]
thread_local! {
    static STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Records `n` steps: distance-table cells, port comparisons, heap operations.
#[inline]
pub fn count(n: u64) {
    #[cfg(test)]
    STEPS.with(|steps| steps.set(steps.get() + n));
    #[cfg(not(test))]
    let _ = n;
}

/// Runs `f` and returns what it returned with the steps it took on this thread.
#[cfg(test)]
pub fn counted<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = STEPS.with(std::cell::Cell::get);
    let value = f();
    (value, STEPS.with(std::cell::Cell::get) - before)
}
