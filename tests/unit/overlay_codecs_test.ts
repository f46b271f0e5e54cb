import assert from "node:assert/strict";
import { SeededRng } from "../../lib/clock/seeded_rng.ts";
import { endpoint } from "../../lib/transport/endpoint.ts";
import {
  ConnectPurpose,
  decodeConnectBody,
  encodeConnectBody,
} from "../../lib/overlay/ctm_body.ts";
import {
  encodeNeighbours,
  encodeNodeList,
  MAX_LIST_NODES,
  readNeighbours,
  readNodeList,
} from "../../lib/overlay/node_list.ts";
import {
  decodeOverlayMessage,
  encodeOverlayMessage,
  FLAG_NEAREST,
  OverlayKind,
} from "../../lib/overlay/overlay_message.ts";

const info = (n: number) => ({
  publicKey: new Uint8Array(32).fill(n),
  endpoints: [endpoint(`198.18.0.${n}`, 5800), endpoint("2001:db8::1", 5801)],
});

Deno.test("overlay messages round-trip addresses at both ends of the ring", () => {
  const top = (1n << 160n) - 1n;
  const msg = {
    kind: OverlayKind.Data,
    flags: FLAG_NEAREST,
    hops: 3,
    ttl: 64,
    src: top,
    dst: 0n,
    body: new Uint8Array([1, 2, 3]),
  };
  const back = decodeOverlayMessage(encodeOverlayMessage(msg))!;
  assert.deepEqual({ ...back, body: [...back.body] }, { ...msg, body: [1, 2, 3] });
  assert.equal(decodeOverlayMessage(new Uint8Array(43)), null, "short header");
  const bad = encodeOverlayMessage(msg);
  bad[0] = 99;
  assert.equal(decodeOverlayMessage(bad), null, "unknown kind");
});

Deno.test("Connect-To-Me bodies carry purpose, token, sender and hints", () => {
  const body = { purpose: ConnectPurpose.Far, token: 0xdeadbeef, sender: info(1), hints: [] };
  const req = decodeConnectBody(encodeConnectBody(body, false), false)!;
  assert.equal(req.purpose, ConnectPurpose.Far);
  assert.equal(req.token, 0xdeadbeef);
  assert.deepEqual(req.sender.endpoints.map((e) => e.port), [5800, 5801]);
  const reply = { ...body, hints: [info(2), info(3)] };
  const back = decodeConnectBody(encodeConnectBody(reply, true), true)!;
  assert.deepEqual(back.hints.map((h) => h.publicKey[0]), [2, 3]);
  assert.equal(decodeConnectBody(new Uint8Array([9, 0, 0, 0, 0]), false), null, "bad purpose");
  assert.deepEqual(back.links, [], "no second list");
  const withLinks = decodeConnectBody(
    encodeConnectBody({ ...reply, links: [{ ...info(4), behindNat: true }] }, true),
    true,
  )!;
  assert.deepEqual(withLinks.hints.map((h) => h.publicKey[0]), [2, 3], "near hints apart");
  assert.deepEqual(withLinks.links?.map((h) => [h.publicKey[0], h.behindNat]), [[4, true]]);
  const junk = new Uint8Array([...encodeConnectBody(reply, true), 1, 7]);
  assert.equal(decodeConnectBody(junk, true), null, "a trailer that is not a whole list");
});

Deno.test("node lists are bounded and reject truncation", () => {
  const list = Array.from({ length: MAX_LIST_NODES + 4 }, (_, i) => info(i + 1));
  const bytes = encodeNodeList(list);
  assert.equal(readNodeList(bytes, 0)!.list.length, MAX_LIST_NODES, "capped when encoding");
  assert.equal(readNodeList(bytes.subarray(0, bytes.length - 1), 0), null);
  const tooMany = bytes.slice();
  tooMany[0] = MAX_LIST_NODES + 1;
  assert.equal(readNodeList(tooMany, 0), null);
});

Deno.test("node infos say which nodes are behind a NAT, relayed or fan out; Neighbours say whether the sender is", () => {
  const natted = { ...info(2), behindNat: true };
  const back = readNodeList(encodeNodeList([info(1), natted]), 0)!.list;
  assert.deepEqual(back.map((i) => i.behindNat ?? false), [false, true]);
  assert.deepEqual(
    back[1]!.endpoints.map((e) => e.port),
    [5800, 5801],
    "count kept beside the flag",
  );
  const relayed = readNodeList(encodeNodeList([{ ...natted, relayed: true }, info(3)]), 0)!.list;
  assert.deepEqual(relayed.map((i) => [i.relayed ?? false, i.behindNat ?? false]), [
    [true, true],
    [false, false],
  ]);
  const fans = readNodeList(encodeNodeList([{ ...natted, fansOut: true }, natted]), 0)!.list;
  assert.deepEqual(fans.map((i) => [i.fansOut ?? false, i.behindNat ?? false]), [
    [true, true],
    [false, true],
  ]);
  const unknownFlag = encodeNodeList([info(1)]);
  unknownFlag[1 + 32] = unknownFlag[1 + 32]! | 0x10;
  assert.equal(readNodeList(unknownFlag, 0), null, "unknown flag bits are refused");

  for (const behind of [false, true]) {
    const heard = readNeighbours(encodeNeighbours([natted], behind))!;
    assert.equal(heard.senderBehindNat, behind);
    assert.equal(heard.list[0]!.behindNat, true);
  }
  assert.equal(readNeighbours(encodeNodeList([info(1)]))!.senderBehindNat, false, "no flag byte");
  const body = encodeNeighbours([info(1)], true);
  body[body.length - 1] = 2;
  assert.equal(readNeighbours(body), null, "unknown sender flag");
  assert.equal(
    readNeighbours(new Uint8Array([...encodeNeighbours([], false), 0])),
    null,
    "trailer",
  );
});

Deno.test("overlay decoders return null, never throw, on random bytes", () => {
  const seed = Number(Deno.env.get("SEED") ?? 17);
  const rng = new SeededRng(seed);
  for (let i = 0; i < 5000; i++) {
    const junk = rng.fill(new Uint8Array(rng.uint32() % 200));
    decodeOverlayMessage(junk);
    readNodeList(junk, 0);
    readNeighbours(junk);
    decodeConnectBody(junk, i % 2 === 0);
  }
});
