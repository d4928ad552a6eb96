"""Cross references between the rendered Kubernetes objects: every selector, port,
secret and config map a manifest names must exist in the same overlay."""

from __future__ import annotations

# Secrets that live outside the rendered manifests (docs/operations.md).
EXTERNAL_SECRETS = {"yilin-secrets", "yilin-gateway-tls", "yilin-identity-public-keys"} | {
    f"yilin-identity-{service}" for service in ("gateway", "registry", "tickets", "hours", "fund", "activities")
}


def _matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def cross_reference_errors(docs: list[dict]) -> list[str]:
    """References between rendered objects that would dangle in the cluster."""
    by_kind: dict[str, dict[str, dict]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    errors = []
    deployments = by_kind.get("Deployment", {})
    services = by_kind.get("Service", {})
    pod_templates = {
        f"{kind}/{name}": obj["spec"]["template"]
        for kind in ("Deployment", "Job")
        for name, obj in by_kind.get(kind, {}).items()
    }
    pod_templates |= {
        f"CronJob/{name}": obj["spec"]["jobTemplate"]["spec"]["template"]
        for name, obj in by_kind.get("CronJob", {}).items()
    }

    for name, dep in deployments.items():
        sel = dep["spec"]["selector"].get("matchLabels", {})
        if not _matches(sel, dep["spec"]["template"]["metadata"].get("labels", {})):
            errors.append(f"Deployment/{name}: selector does not match its own pod template")

    def pods_matching(sel):
        return [
            key
            for key, tpl in pod_templates.items()
            if key.startswith("Deployment/") and _matches(sel, tpl["metadata"].get("labels", {}))
        ]

    for name, svc in services.items():
        sel = svc["spec"].get("selector") or {}
        hits = pods_matching(sel)
        if not sel or not hits:
            errors.append(f"Service/{name}: selector {sel} matches no Deployment's pods")
        for port in svc["spec"].get("ports", []):
            target = port.get("targetPort")
            if isinstance(target, str):
                for key in hits:
                    names = {
                        p.get("name") for c in pod_templates[key]["spec"]["containers"] for p in c.get("ports", [])
                    }
                    if target not in names:
                        errors.append(f"Service/{name}: targetPort {target!r} is not a port of {key}")

    for name, pdb in by_kind.get("PodDisruptionBudget", {}).items():
        sel = pdb["spec"].get("selector", {}).get("matchLabels", {})
        if not sel or not pods_matching(sel):
            errors.append(f"PodDisruptionBudget/{name}: selector {sel} matches no Deployment's pods")

    for name, so in by_kind.get("ScaledObject", {}).items():
        ref = so["spec"]["scaleTargetRef"]
        if ref.get("kind", "Deployment") != "Deployment" or ref["name"] not in deployments:
            errors.append(f"ScaledObject/{name}: scaleTargetRef {ref} is not a rendered Deployment")
        for trig in so["spec"].get("triggers", []):
            auth = (trig.get("authenticationRef") or {}).get("name")
            if auth and auth not in by_kind.get("TriggerAuthentication", {}):
                errors.append(
                    f"ScaledObject/{name}: authenticationRef {auth!r} is not a rendered TriggerAuthentication"
                )

    for name, ta in by_kind.get("TriggerAuthentication", {}).items():
        for ref in ta["spec"].get("secretTargetRef", []):
            if ref["name"] not in EXTERNAL_SECRETS and ref["name"] not in by_kind.get("Secret", {}):
                errors.append(f"TriggerAuthentication/{name}: unknown Secret {ref['name']!r}")

    for name, sm in by_kind.get("ServiceMonitor", {}).items():
        sel = sm["spec"]["selector"].get("matchLabels", {})
        if sel.get("app.kubernetes.io/component") == "rabbitmq":
            # The RabbitMQ operator creates these Services from the RabbitmqCluster.
            if not by_kind.get("RabbitmqCluster"):
                errors.append(f"ServiceMonitor/{name}: selects RabbitMQ Services but no RabbitmqCluster is rendered")
            continue
        hits = [s for s in services.values() if _matches(sel, s["metadata"].get("labels", {}))]
        if not sel or not hits:
            errors.append(f"ServiceMonitor/{name}: selector {sel} matches no rendered Service")
        for ep in sm["spec"].get("endpoints", []):
            for svc in hits:
                if ep.get("port") not in {p.get("name") for p in svc["spec"]["ports"]}:
                    errors.append(
                        f"ServiceMonitor/{name}: Service/{svc['metadata']['name']} has no port {ep.get('port')!r}"
                    )

    for name, pm in by_kind.get("PodMonitor", {}).items():
        sel = pm["spec"]["selector"].get("matchLabels", {})
        if not sel or not pods_matching(sel):
            errors.append(f"PodMonitor/{name}: selector {sel} matches no Deployment's pods")

    for name, ing in by_kind.get("Ingress", {}).items():
        for rule in ing["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                backend = path["backend"]["service"]
                svc = services.get(backend["name"])
                if svc is None:
                    errors.append(f"Ingress/{name}: backend Service {backend['name']!r} is not rendered")
                    continue
                port = backend["port"]
                if "name" in port and port["name"] not in {p.get("name") for p in svc["spec"]["ports"]}:
                    errors.append(f"Ingress/{name}: Service/{backend['name']} has no port {port['name']!r}")
        for tls in ing["spec"].get("tls", []):
            if tls.get("secretName") not in EXTERNAL_SECRETS | set(by_kind.get("Secret", {})):
                errors.append(f"Ingress/{name}: unknown TLS Secret {tls.get('secretName')!r}")

    claims = set(by_kind.get("PersistentVolumeClaim", {}))
    for key, tpl in pod_templates.items():
        for volume in tpl["spec"].get("volumes", []):
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim and claim not in claims:
                errors.append(f"{key}: volume {volume['name']} claims unknown PersistentVolumeClaim {claim!r}")

    configmaps = set(by_kind.get("ConfigMap", {}))
    secrets = set(by_kind.get("Secret", {})) | EXTERNAL_SECRETS
    for key, tpl in pod_templates.items():
        for c in tpl["spec"]["containers"]:
            for src in c.get("envFrom", []):
                if "configMapRef" in src and src["configMapRef"]["name"] not in configmaps:
                    errors.append(f"{key}: envFrom ConfigMap {src['configMapRef']['name']!r} is not rendered")
                if "secretRef" in src and src["secretRef"]["name"] not in secrets:
                    errors.append(f"{key}: envFrom Secret {src['secretRef']['name']!r} is unknown")
            for env in c.get("env", []):
                ref = env.get("valueFrom") or {}
                if "secretKeyRef" in ref and ref["secretKeyRef"]["name"] not in secrets:
                    errors.append(f"{key}: env {env['name']} reads unknown Secret {ref['secretKeyRef']['name']!r}")
                if "configMapKeyRef" in ref and ref["configMapKeyRef"]["name"] not in configmaps:
                    errors.append(
                        f"{key}: env {env['name']} reads unknown ConfigMap {ref['configMapKeyRef']['name']!r}"
                    )
    return errors
