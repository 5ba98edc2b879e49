//! API-server validation of NetworkPolicies (being written).
