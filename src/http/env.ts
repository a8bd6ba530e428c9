import type { Actor } from "../services/audit.js";

/** Per-request values set by middleware. */
export interface AppEnv {
  Variables: {
    actor: Actor;
    isHost: boolean;
    requestId: string;
    /** Request body cap in bytes. */
    bodyLimit: number;
  };
}
