import type { Services } from "./context";
import type { Env } from "./env";
import type { Principal } from "./services/api-keys";

/** Hono's typing for this app: the Worker's bindings and the per-request variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    services: Services;
    principal: Principal;
  };
}
