// Declarations and flows limited to some clusters; a flow limited to the clusters its ends
// are in.
use zero_trust::zero_trust;

zero_trust! {
    clusters staging, prod;

    namespace shop {
        web: 8080;
        checkout: 3000;
        #[clusters(staging)] web_canary: 8080
    }
    #[clusters(prod)]
    namespace billing { invoices: 9000 }
    #[clusters(prod)]
    cidr partner_api = "203.0.113.0/24";

    web -> checkout:3000;
    #[clusters(staging)] web_canary -> checkout:3000;
    #[clusters(prod)] checkout -> partner_api:443;
    #[clusters(prod)] checkout -> invoices:9000;
    #[clusters(staging, prod)] checkout -> web:8080;
}

fn main() {
    assert_eq!(POLICY.clusters, ["staging", "prod"]);
    assert_eq!(POLICY.limits.len(), 8);
}
