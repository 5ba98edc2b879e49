// The language for real platforms: `any`, external ends declared without ports, and
// set-based selectors.
use zero_trust::zero_trust;

zero_trust! {
    namespace shop {
        web ["tier" in ["web", "api"], "canary", !"legacy", "app" = "web"]: 8080, any/udp;
        batch ["app" = "batch", "track" not in ["beta", "alpha"]];
        everything: any
    }
    external namespace prod_database {}
    external namespace partners {
        partner_api ["app" = "partner-api"]
    }
    cidr partner_net = "203.0.113.0/24";

    batch -> web:8080, 53/udp;
    batch -> everything:any;
    web -> everything:any/tcp, 9000/sctp;
    batch -> prod_database:5432, 6379;
    batch -> partner_api:any;
    batch -> partner_net:any/tcp;
    partners -> web:8080;
}

fn main() {}
