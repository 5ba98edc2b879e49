// The language for real platforms: `any`, external ends declared without ports,
// set-based selectors, and namespaces selected by labels.
use zero_trust::zero_trust;

zero_trust! {
    namespace shop {
        web ["tier" in ["web", "api"], "canary", !"legacy", "app" = "web"]: 8080, any/udp;
        batch ["app" = "batch", "track" not in ["beta", "alpha"]];
        everything: any;
        api: http = 8080, metrics = 9090/tcp
    }
    /// Managed by the database team.
    external namespace prod_database {}
    external namespace partners {
        partner_api ["app" = "partner-api"]
    }
    /// Every namespace of the payments team.
    external namespaces payments ["team" = "payments"] { payments_api ["app" = "api"]: 8443 }
    external namespaces monitoring ["kubernetes.io/metadata.name" in ["monitoring", "observability"]] {
        prometheus ["app.kubernetes.io/name" = "prometheus"]
    }
    external namespaces everywhere [] {}
    cidr partner_net = "203.0.113.0/24";
    /// The internet, both families.
    cidr internet = "0.0.0.0/0" except "10.0.0.0/8", "172.16.0.0/12"; "::/0" except "fc00::/7";

    /// Nightly reports read the catalogue; kept as the flow's reason.
    batch -> web:8080, 53/udp;
    batch -> everything:any;
    web -> everything:any/tcp, 9000/sctp;
    batch -> prod_database:5432, 6379;
    batch -> partner_api:any;
    batch -> partner_net:any/tcp;
    partners -> web:8080;
    web -> internet:443;
    web -> api:http, metrics;
    payments -> web:8080;
    batch -> payments_api:8443;
    prometheus -> *:any/tcp;
    everywhere -> api:http;
    /// A port name the partner's pods resolve, written as the name.
    web -> partner_api:https, grpc/udp;
}

fn main() {}
