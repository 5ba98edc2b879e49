//! shop: the guide's "Advanced Configurations" — one workload with both an ingress and an
//! egress flow ("Combined Ingress and Egress"), a specific external address block
//! ("Allow Specific External IPs") and several ports of a namespace nobody here manages
//! ("Allow Multiple Ports"); and the monitoring stack, selected by labels wherever it runs.

use zero_trust::zero_trust;

zero_trust! {
    namespace shop {
        my_app: any;
        allowed_source;
        allowed_destination: any
    }
    // Managed elsewhere: declared without workloads or ports, so nobody here claims to
    // know what it listens on, and every port may be named in a flow to it.
    external namespace prod_database {}
    cidr partner_service = "203.0.113.0/24";
    /// The monitoring stack, in whichever of these namespaces a cluster runs it.
    external namespaces monitoring ["kubernetes.io/metadata.name" in ["monitoring", "observability"]] {
        prometheus ["app.kubernetes.io/name" = "prometheus"]
    }

    /// The guide's combined policy names no ports: every port and protocol.
    allowed_source -> my_app:any;
    my_app -> allowed_destination:any;
    my_app -> partner_service:443;
    /// PostgreSQL and Redis.
    my_app -> prod_database:5432, 6379;
    /// Prometheus scrapes the app's metrics.
    prometheus -> my_app:9090;
}
