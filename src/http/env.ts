import type { Actor } from "../services/audit.js";

/** Per-request values set by middleware. */
export interface AppEnv {
  Variables: {
    actor: Actor;
    isHost: boolean;
    /** Request body cap in bytes. */
    bodyLimit: number;
  };
}
