import type { Access, Actor } from "./auth.js";

/** Per-request values set by middleware. */
export interface AppEnv {
  Variables: {
    /** The caller (set on every route that needs a credential). */
    actor: Actor;
    /** The caller and the workspaces it may reach. */
    access: Access;
    /** Request body cap in bytes. */
    bodyLimit: number;
  };
}
