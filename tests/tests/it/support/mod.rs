//! What several subjects share: the stand-ins' helpers for the script tests and the real
//! API server for the rollout tests.

pub mod apiserver;
pub mod scripts;
