const lib = Deno.dlopen("libsodium.so.23", {
  sodium_init: { parameters: [], result: "i32" },
  enc: { name: "crypto_aead_chacha20poly1305_ietf_encrypt", parameters: ["buffer", "pointer", "buffer", "u64", "buffer", "u64", "pointer", "buffer", "buffer"], result: "i32" },
  stream: { name: "crypto_stream_chacha20_ietf_xor", parameters: ["buffer", "buffer", "u64", "buffer", "buffer"], result: "i32" },
} as const);
lib.symbols.sodium_init();
const key = new Uint8Array(32), nonce = new Uint8Array(12), ad = new Uint8Array(16), out = new Uint8Array(1500);
const N = 100000;
const res: Record<string, number[]> = {};
function t(name: string, f: () => void) { const t0 = performance.now(); for (let i = 0; i < N; i++) f(); (res[name] ??= []).push((performance.now() - t0) * 1e6 / N); }
const u = (n: number) => n as unknown as bigint;
for (let r = 0; r < 8; r++) for (const len of [16, 1400]) {
  const pt = new Uint8Array(len);
  t(`enc ${len} number`, () => lib.symbols.enc(out, null, pt, u(pt.length), ad, u(ad.length), null, nonce, key));
  t(`enc ${len} BigInt()`, () => lib.symbols.enc(out, null, pt, BigInt(pt.length), ad, BigInt(ad.length), null, nonce, key));
  t(`stream ${len} BigInt()`, () => lib.symbols.stream(out, pt, BigInt(pt.length), nonce, key));
}
for (const [k, v] of Object.entries(res)) console.log(k.padEnd(22), "min", Math.min(...v).toFixed(0), "median", v.sort((a,b)=>a-b)[v.length>>1]!.toFixed(0));
lib.close();
