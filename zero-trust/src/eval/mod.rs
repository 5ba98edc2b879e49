//! Evaluator of NetworkPolicy semantics (being written).
