pub mod cluster;
pub mod model;
pub mod yaml;
pub mod eval;
pub mod validate;
