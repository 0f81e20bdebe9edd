import type { Findings } from "./createOptions.ts";
import { issue, warning } from "./issues.ts";
import type { ModuleSpec } from "./model.ts";
import { canonicalJson } from "../runtime/canonical.ts";
import { k8sName } from "../naming/k8sName.ts";

/** The Service that publishes a module's PortBindings outside the device (its own name serves inside). */
export function publishedServiceName(moduleId: string): string {
  return k8sName(`${moduleId}-published`);
}

/** Docker's own networks: joining them is what every module does here anyway. */
const DEVICE_NETWORKS = new Set(["host", "bridge", "default", "azure-iot-edge"]);

/**
 * Docker network aliases (`NetworkingConfig.EndpointsConfig.<network>.Aliases`): other names the
 * module answers to on the network. Each becomes another headless Service (see translate/service.ts).
 */
export function networkAliases(module: ModuleSpec): { alias: string; name: string }[] {
  const names = new Map<string, string>();
  for (const endpoint of Object.values(module.createOptions.NetworkingConfig?.EndpointsConfig ?? {})) {
    for (const alias of endpoint.Aliases ?? []) {
      const name = k8sName(alias);
      if (name !== module.k8sName && !names.has(name)) names.set(name, alias);
    }
  }
  return [...names].map(([name, alias]) => ({ alias, name }));
}

/** Volume names translation gives the pod itself (translate/volumes.ts, translate/identity.ts). */
const RESERVED_VOLUME = /^((host|data|scratch|device)-\d+|dshm|edgek8s-.*)$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const createOptionsPath = (m: ModuleSpec, ...rest: (string | number)[]) => [
  ...m.pathParts,
  "settings",
  "createOptions",
  ...rest,
];

/** Every Service name on the device is used once: module names (headless) and published names. */
function checkNames(modules: readonly ModuleSpec[], found: Findings): void {
  const owners = new Map<string, { id: string; published: boolean }>();
  const describe = (o: { id: string; published: boolean }) =>
    o.published ? `the published Service of "${o.id}"` : `module id "${o.id}"`;
  const claim = (name: string, owner: { id: string; published: boolean }, module: ModuleSpec) => {
    const clash = owners.get(name);
    if (clash === undefined) owners.set(name, owner);
    else if (!clash.published && !owner.published) {
      found.issues.push(
        issue(module.pathParts, `module ids "${clash.id}" and "${owner.id}" both become the Kubernetes name "${name}"`),
      );
    } else {
      found.issues.push(
        issue(module.pathParts, `${describe(clash)} and ${describe(owner)} both become the Kubernetes name "${name}"`),
      );
    }
  };
  for (const m of modules) claim(m.k8sName, { id: m.id, published: false }, m);
  for (const m of modules) {
    if (m.portBindings.length > 0) claim(publishedServiceName(m.id), { id: m.id, published: true }, m);
    for (const { alias, name } of networkAliases(m)) {
      const clash = owners.get(name);
      if (clash === undefined) owners.set(name, { id: m.id, published: false });
      else {
        found.issues.push(
          issue(
            createOptionsPath(m, "NetworkingConfig"),
            `network alias "${alias}" of "${m.id}" and ${describe(clash)} both become the Kubernetes name "${name}"`,
          ),
        );
      }
    }
    for (const network of Object.keys(m.createOptions.NetworkingConfig?.EndpointsConfig ?? {})) {
      if (DEVICE_NETWORKS.has(network.toLowerCase())) continue;
      found.warnings.push(
        warning(
          createOptionsPath(m, "NetworkingConfig", "EndpointsConfig", network),
          `Docker network "${network}" does not exist on Kubernetes: the module joins the device network, where every module reaches it by name`,
        ),
      );
    }
  }
  for (const m of modules) {
    if (!m.system && m.k8sName !== m.id.toLowerCase()) {
      found.warnings.push(
        warning(
          m.pathParts,
          `module id "${m.id}" is not a DNS name: other modules reach it as "${m.k8sName}" (on Docker's network "${m.id}" resolves too)`,
        ),
      );
    }
  }
}

/** Two Docker volume names that sanitise to one claim name would share data by accident. */
function checkClaims(modules: readonly ModuleSpec[], found: Findings): void {
  const sources = new Map<string, string>();
  const specs = new Map<string, { key: string; module: string }>();
  for (const module of modules) {
    const mounted = new Set<string>();
    for (const mount of module.mounts) {
      if (mount.kind !== "volume") continue;
      mounted.add(mount.source);
      const name = k8sName(mount.source);
      const clash = sources.get(name);
      if (clash !== undefined && clash !== mount.source) {
        found.issues.push(
          issue(mount.at, `volumes "${clash}" and "${mount.source}" both become the claim name "${name}"`),
        );
      }
      sources.set(name, mount.source);
    }
    for (const [source, spec] of Object.entries(module.k8sExperimental.persistentVolumeClaims ?? {})) {
      const at = createOptionsPath(module, "k8s-experimental", "persistentVolumeClaims", source);
      if (!mounted.has(source)) {
        found.warnings.push(warning(at, `this module mounts no Docker volume named "${source}"; ignored`));
        continue;
      }
      const earlier = specs.get(source);
      if (earlier && earlier.key !== canonicalJson(spec)) {
        found.issues.push(issue(at, `differs from the claim settings "${earlier.module}" gives volume "${source}"`));
      }
      specs.set(source, { key: canonicalJson(spec), module: module.id });
    }
  }
}

/** `k8s-experimental.volumes` must make a pod the API server accepts next to the Docker mounts. */
function checkExtraVolumes(module: ModuleSpec, found: Findings): void {
  const names = new Set<string>();
  const targets = new Set(module.mounts.map((m) => m.target.replace(/\/+$/, "") || "/"));
  (module.k8sExperimental.volumes ?? []).forEach((extra, i) => {
    const at = createOptionsPath(module, "k8s-experimental", "volumes", i);
    const name = extra.volume?.name;
    if (name === undefined) found.issues.push(issue([...at, "volume"], "is required: the Kubernetes volume to add"));
    else if (!DNS_LABEL.test(name))
      found.issues.push(
        issue([...at, "volume", "name"], `"${name}" is not a DNS label (lowercase letters, digits, '-')`),
      );
    else if (RESERVED_VOLUME.test(name)) {
      found.issues.push(
        issue([...at, "volume", "name"], `"${name}" is a name edgek8s gives volumes it makes; choose another`),
      );
    } else if (names.has(name)) found.issues.push(issue([...at, "volume", "name"], `volume "${name}" is given twice`));
    else names.add(name);
  });
  (module.k8sExperimental.volumes ?? []).forEach((extra, i) => {
    const at = createOptionsPath(module, "k8s-experimental", "volumes", i);
    const mounts = [
      ...(extra.volumeMounts ?? []).map((mount, j) => ({ mount, at: [...at, "volumeMounts", j] })),
      ...(extra.volumeMount ? [{ mount: extra.volumeMount, at: [...at, "volumeMount"] }] : []),
    ];
    for (const { mount, at: mountAt } of mounts) {
      if (!names.has(mount.name)) {
        found.issues.push(
          issue([...mountAt, "name"], `mounts "${mount.name}", which no k8s-experimental volume is named`),
        );
      }
      const target = mount.mountPath.replace(/\/+$/, "") || "/";
      if (targets.has(target)) {
        found.issues.push(issue([...mountAt, "mountPath"], `"${mount.mountPath}" is mounted twice in the container`));
      }
      targets.add(target);
    }
  });
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:]+:[0-9a-fA-F:.]*$/;

/** What the API server would refuse in a Deployment or Service made from k8s-experimental. */
function checkPodSettings(module: ModuleSpec, found: Findings): void {
  const experimental = module.k8sExperimental;
  const strategy = experimental.strategy;
  if (strategy?.type === "Recreate" && strategy.rollingUpdate !== undefined) {
    found.issues.push(
      issue(
        createOptionsPath(module, "k8s-experimental", "strategy", "rollingUpdate"),
        'may not be given with type "Recreate" (the API server refuses it)',
      ),
    );
  }
  const ip = experimental.serviceOptions?.loadBalancerIP;
  if (ip !== undefined && ip !== "" && !IPV4.test(ip) && !IPV6.test(ip)) {
    found.issues.push(
      issue(
        createOptionsPath(module, "k8s-experimental", "serviceOptions", "loadBalancerIP"),
        `"${ip}" is not an IP address`,
      ),
    );
  }
}

/** Checks that need several modules (names, shared volumes) or a whole module's mounts. */
export function checkModules(modules: readonly ModuleSpec[], found: Findings): void {
  checkNames(modules, found);
  checkClaims(modules, found);
  for (const module of modules) {
    checkExtraVolumes(module, found);
    checkPodSettings(module, found);
  }
}
