// The DNS rebinding guard's rules: which Host header values a server answers, by what it is
// bound to. The same check over real sockets is in test/integration/host-header.test.ts.
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { describe, test } from "node:test";
import { createHostCheck, hostHeaderName } from "../../src/http/host-check.js";
import { certificateNames } from "../../src/server.js";

describe("Host header parsing", () => {
  for (const [value, name] of [
    ["localhost", "localhost"],
    ["LocalHost:8787", "localhost"],
    ["localhost.:8787", "localhost"],
    ["127.0.0.1:1", "127.0.0.1"],
    ["[::1]:8787", "::1"],
    ["[::1]", "::1"],
    ["box.example.com", "box.example.com"],
  ] as const) {
    test(`${value} -> ${name}`, () => assert.equal(hostHeaderName(value), name));
  }
  for (const value of ["", "[::1", "[::1]x", "::1", "a b", "evil.com:80:80", "host/path", "user@host", "[evil.com]", "x:123456"]) {
    test(`${JSON.stringify(value)} is not a Host`, () => assert.equal(hostHeaderName(value), null));
  }
});

describe("which hosts a server answers", () => {
  test("bound to loopback: localhost, 127.0.0.1 and [::1], with or without a port; nothing else", () => {
    const check = createHostCheck({ bindHost: "127.0.0.1" })!;
    for (const host of ["localhost", "localhost:8787", "127.0.0.1:8787", "127.0.0.1", "[::1]:8787", "LOCALHOST:1"]) {
      assert.ok(check.allows(host), host);
    }
    for (const host of [undefined, "", "evil.example", "evil.example:8787", "localhost.evil.example", "127.0.0.1.nip.io", "192.168.1.20"]) {
      assert.ok(!check.allows(host), String(host));
    }
    // The machine's own name is only for servers that LAN clients can reach.
    assert.ok(!check.allows(hostname()));
  });

  test("bound to ::1 or another 127/8 address: the loopback names and that address", () => {
    assert.ok(createHostCheck({ bindHost: "::1" })!.allows("[::1]:1"));
    const other = createHostCheck({ bindHost: "127.0.0.5" })!;
    assert.ok(other.allows("127.0.0.5:80"));
    assert.ok(other.allows("localhost"));
  });

  test("bound to all interfaces: loopback, every interface address, the machine's name", () => {
    const check = createHostCheck({ bindHost: "0.0.0.0", interfaces: () => ["127.0.0.1", "::1", "192.168.1.20", "fd00::2"] })!;
    for (const host of ["localhost:8787", "192.168.1.20:8787", "[fd00::2]:8787", hostname(), `${hostname()}.local:8787`]) {
      assert.ok(check.allows(host), host);
    }
    assert.ok(!check.allows("192.168.1.21:8787"));
    assert.ok(!check.allows("attacker.example:8787"));
  });

  test("bound to all: an address that appears later (DHCP, another network) is accepted once seen", async () => {
    let addresses = ["127.0.0.1"];
    const check = createHostCheck({ bindHost: "::", interfaces: () => addresses })!;
    assert.ok(!check.allows("10.1.2.3"));
    addresses = ["127.0.0.1", "10.1.2.3"];
    // Interfaces are re-read at most once a second.
    await new Promise((r) => setTimeout(r, 1050));
    assert.ok(check.allows("10.1.2.3:8787"));
  });

  test("bound to one LAN address: that address and the machine's name, not loopback", () => {
    const check = createHostCheck({ bindHost: "192.168.1.20" })!;
    assert.ok(check.allows("192.168.1.20:8787"));
    assert.ok(check.allows(hostname().toUpperCase()));
    assert.ok(!check.allows("localhost:8787"));
    assert.ok(!check.allows("evil.example"));
  });

  test("allowedHosts adds names (and *.suffix subdomains); '*' turns the check off", () => {
    const check = createHostCheck({ bindHost: "127.0.0.1", allowed: ["box.example.com", "*.ts.net"] })!;
    assert.ok(check.allows("box.example.com:443"));
    assert.ok(check.allows("laptop.tail1234.ts.net"));
    assert.ok(!check.allows("ts.net"));
    assert.ok(!check.allows("box.example.com.evil.example"));
    assert.ok(check.allows("localhost"), "the defaults stay");
    assert.equal(createHostCheck({ bindHost: "127.0.0.1", allowed: "*" }), null);
  });

  test("with TLS the certificate's names are accepted (clients must use them)", () => {
    const names = certificateNames("DNS:box.example.com, DNS:*.lan.example, IP Address:10.0.0.7, IP Address:0:0:0:0:0:0:0:1", "CN=ignored");
    assert.deepEqual(names, ["box.example.com", "*.lan.example", "10.0.0.7", "::1"]);
    assert.deepEqual(certificateNames(undefined, "O=Org\nCN=only-cn.example"), ["only-cn.example"]);
    const check = createHostCheck({ bindHost: "0.0.0.0", certificateNames: names, interfaces: () => [] })!;
    assert.ok(check.allows("box.example.com:8443"));
    assert.ok(check.allows("printer.lan.example"));
    assert.ok(!check.allows("other.example"));
  });
});
