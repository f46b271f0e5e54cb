import denoJson from "../deno.json" with { type: "json" };

/** The ipop version, from deno.json. */
export const VERSION: string = denoJson.version;
