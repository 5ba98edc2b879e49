// Every construct of the language in one block.
use zero_trust::zero_trust;

zero_trust! {
    // Managed namespaces, one with an explicit Kubernetes name.
    namespace prod_api {
        main_api: 3000, 3001;
        worker ["app.kubernetes.io/name" = "worker", "tier" = "jobs"]: 9000/tcp;
        gateway as "edge-gateway": 30000..=32767, 4000/sctp;
        r#type: 7000
    }
    namespace storage as "prod-storage" {
        minio: 9000, 9001
    }
    // External namespaces: referenced, never written to.
    external namespace ingress_nginx {
        controller ["app.kubernetes.io/name" = "ingress-nginx"]
    }
    external namespace kube_system {
        kube_dns ["k8s-app" = "kube-dns"]: 53/udp, 53/tcp
    }
    cidr public_internet = "0.0.0.0/0" except "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16";
    cidr ula = "fd00::/8";

    * -> kube_dns:53/udp, 53/tcp;
    ingress_nginx -> main_api:3000;
    controller -> gateway:30000..=32767;
    main_api -> worker:9000;
    main_api -> r#type:7000;
    main_api -> gateway:4000/sctp;
    // A namespace as destination: any of its workloads listening on the port.
    worker -> storage:9000;
    // A namespace as source.
    prod_api -> public_internet:443, 80;
    main_api -> ula:443;
    // `*` as destination: every managed pod.
    gateway -> *:3000;
}

fn main() {
    assert_eq!(POLICY.namespaces.len(), 4);
    assert_eq!(POLICY.workloads.len(), 7);
    assert_eq!(POLICY.flows.len(), 10);
    assert_eq!(gateway.name, "edge-gateway");
    assert_eq!(storage.name, "prod-storage");
    assert_eq!(r#type.name, "type");
    assert_eq!(main_api.selector[0].key, "app");
    assert_eq!(main_api.selector[0].value, "main-api");
}
