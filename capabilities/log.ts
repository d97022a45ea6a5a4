// One structured logger per component (pino, the logger Pepr itself uses).
import pino from "pino";

const root = pino({ level: process.env.LOG_LEVEL ?? "info", base: { app: "vmnet-operator" } });

export type Logger = pino.Logger;
export const logger = (component: string): Logger => root.child({ component });
