import { z } from "zod";
const item = z.object({ name: z.string() }).meta({ id: "Item" });
const list = z.object({ items: z.array(item), flag: z.string().optional().transform(v => v === "true") });
console.log(JSON.stringify(z.toJSONSchema(list, { io: "input", uri: (id) => `#/components/schemas/${id}`, unrepresentable: "any" }), null, 1));
const reg = z.registry<{id?: string}>();
console.log(JSON.stringify(z.toJSONSchema(z.globalRegistry, { io: "output", uri: (id) => `#/components/schemas/${id}` }).schemas.Item));
