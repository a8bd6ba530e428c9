// DNS rebinding guard. A web page on evil.example can make its own name resolve to this machine
// and then read our answers as same-origin; its requests still carry `Host: evil.example`. So a
// request is answered only when its Host names an address the server listens on (or a name the
// operator allowed). A client that is not a browser can send any Host: this is not
// authentication, it only keeps browsers from being turned against the server.
import { networkInterfaces, hostname as osHostname } from "node:os";
import { ApiError } from "../errors.js";

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"];

export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, "");
  return name === "localhost" || name === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

export function isWildcardHost(host: string): boolean {
  return host === "0.0.0.0" || host === "::" || host === "";
}

/**
 * The host name of a `Host` header value, lowercased, without port, brackets or trailing dot;
 * null when the value is not a host[:port].
 */
export function hostHeaderName(value: string): string | null {
  const text = value.trim().toLowerCase();
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end < 0 || !/^(:\d{1,5})?$/.test(text.slice(end + 1))) return null;
    const address = text.slice(1, end);
    return /^[0-9a-f:.]+$/.test(address) ? address : null;
  }
  const match = /^([a-z0-9._-]+?)\.?(?::\d{1,5})?$/.exec(text);
  return match?.[1] ?? null;
}

/**
 * An `allowedHosts` entry in canonical form (`name`, `1.2.3.4`, `::1`, or `*.example.com` for
 * any subdomain), or null when it is not one (a port, scheme or path is refused, not ignored).
 */
export function normalizeAllowedHost(entry: string): string | null {
  const text = entry.trim().toLowerCase().replace(/\.$/, "");
  if (/^\*\.[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(text)) return text;
  const unbracketed = text.replace(/^\[(.*)\]$/, "$1");
  if (unbracketed.includes(":")) return /^[0-9a-f:.]+$/.test(unbracketed) ? unbracketed : null;
  return /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(text) ? text : null;
}

export interface HostCheckOptions {
  /** The address the server is bound to. */
  bindHost: string;
  /** Extra names from the settings (`allowedHosts`), or `"*"` for no check. */
  allowed?: "*" | string[];
  /** Names the TLS certificate is valid for (clients use those). */
  certificateNames?: string[];
  /** For tests: the interface addresses (default: os.networkInterfaces()). */
  interfaces?: () => string[];
}

export interface HostCheck {
  /** True when a request with this Host header value may be answered. */
  allows(hostHeader: string | undefined): boolean;
}

/** Null when the operator turned the check off (`allowedHosts: "*"`). */
export function createHostCheck(options: HostCheckOptions): HostCheck | null {
  if (options.allowed === "*") return null;
  const bind = options.bindHost.toLowerCase().replace(/^\[|\]$/g, "");
  const wildcard = isWildcardHost(bind);
  const fixed = new Set<string>(options.allowed ?? []);
  for (const name of options.certificateNames ?? []) {
    const normalized = normalizeAllowedHost(name);
    if (normalized) fixed.add(normalized);
  }
  if (wildcard || isLoopbackHost(bind)) for (const name of LOOPBACK_NAMES) fixed.add(name);
  if (!wildcard) fixed.add(bind);
  if (!isLoopbackHost(bind)) {
    // LAN clients often use the machine's name (`mybox`, `mybox.local` over mDNS).
    const own = osHostname().toLowerCase();
    if (own) fixed.add(own).add(own.endsWith(".local") ? own : `${own}.local`);
  }
  const suffixes = [...fixed].filter((name) => name.startsWith("*.")).map((name) => name.slice(1));

  // Bound to all interfaces: any current interface address. Addresses change (DHCP, another
  // network), so an unknown name re-reads them, at most once a second.
  const readInterfaces = options.interfaces ?? interfaceAddresses;
  let current = new Set(wildcard ? readInterfaces() : []);
  let readAt = Date.now();
  const isInterface = (name: string) => {
    if (!wildcard) return false;
    if (current.has(name)) return true;
    if (Date.now() - readAt < 1000) return false;
    current = new Set(readInterfaces());
    readAt = Date.now();
    return current.has(name);
  };

  return {
    allows(hostHeader) {
      if (hostHeader === undefined) return false;
      const name = hostHeaderName(hostHeader);
      if (name === null) return false;
      return fixed.has(name) || suffixes.some((suffix) => name.endsWith(suffix)) || isInterface(name);
    },
  };
}

function interfaceAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const net of list ?? []) out.push(net.address.toLowerCase().replace(/%.*$/, ""));
  }
  return out;
}

/** The answer to a request whose Host is not ours: 421, with what to change. */
export function misdirectedHostResponse(hostHeader: string | undefined): Response {
  const error = new ApiError(
    421,
    "misdirected_host",
    hostHeader === undefined
      ? "The request has no Host header."
      : `This server does not answer to the host name in "Host: ${hostHeader.slice(0, 256)}". ` +
          "If you reach it under that name on purpose, add the name to allowedHosts (--allowed-hosts).",
    hostHeader === undefined ? undefined : { host: hostHeader.slice(0, 256) },
  );
  return new Response(JSON.stringify(error.toBody()), {
    status: 421,
    headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" },
  });
}
