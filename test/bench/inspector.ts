// A minimal client of Node's inspector protocol (the operator started with --inspect=127.0.0.1:<port>),
// so the benchmarks can measure the operator process from outside without changing it: heap after
// a full garbage collection, heap snapshots and CPU profiles, in the production bundle too.
import fs from "node:fs";
import { WebSocket } from "undici";

export class Inspector {
  #next = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #listeners = new Map<string, ((params: Record<string, unknown>) => void)[]>();

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener("message", ev => {
      const msg = JSON.parse(String(ev.data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
        method?: string;
        params?: Record<string, unknown>;
      };
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(msg.error.message));
        else p?.resolve(msg.result);
      } else if (msg.method) for (const l of this.#listeners.get(msg.method) ?? []) l(msg.params ?? {});
    });
  }

  /** Connects to the first target of the inspector on 127.0.0.1:port (retrying until it listens). */
  static async connect(port: number, timeoutMs = 180_000): Promise<Inspector> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
        const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
        await new Promise<void>((resolve, reject) => {
          ws.addEventListener("open", () => resolve());
          ws.addEventListener("error", () => reject(new Error("inspector connection failed")));
        });
        return new Inspector(ws);
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`no inspector on port ${port}: ${String(err)}`);
        await new Promise(r => setTimeout(r, 200));
      }
    }
  }

  send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: v => resolve(v as T), reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  on(method: string, fn: (params: Record<string, unknown>) => void): void {
    this.#listeners.set(method, [...(this.#listeners.get(method) ?? []), fn]);
  }

  /** process.memoryUsage() as it is (no collection). */
  async memory(): Promise<{ rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number }> {
    const r = await this.send<{ result: { value: string } }>("Runtime.evaluate", {
      expression: "JSON.stringify(process.memoryUsage())",
      returnByValue: true,
    });
    return JSON.parse(r.result.value) as Awaited<ReturnType<Inspector["memory"]>>;
  }

  /** process.memoryUsage() after a full collection (heapUsed then counts live objects only). */
  async memoryAfterGc(): ReturnType<Inspector["memory"]> {
    await this.send("HeapProfiler.enable");
    await this.send("HeapProfiler.collectGarbage");
    await this.send("HeapProfiler.collectGarbage");
    return this.memory();
  }

  /** Writes a .heapsnapshot (open it in Chrome DevTools' Memory tab). */
  async heapSnapshot(file: string): Promise<void> {
    const out = fs.createWriteStream(file);
    this.on("HeapProfiler.addHeapSnapshotChunk", p => out.write(String(p.chunk)));
    await this.send("HeapProfiler.enable");
    await this.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    await new Promise<void>(r => out.end(r));
    this.#listeners.delete("HeapProfiler.addHeapSnapshotChunk");
  }

  async startCpuProfile(): Promise<void> {
    await this.send("Profiler.enable");
    await this.send("Profiler.setSamplingInterval", { interval: 500 });
    await this.send("Profiler.start");
  }

  /** Stops the profile and writes a .cpuprofile (Chrome DevTools, speedscope). */
  async stopCpuProfile(file: string): Promise<void> {
    const { profile } = await this.send<{ profile: unknown }>("Profiler.stop");
    fs.writeFileSync(file, JSON.stringify(profile));
  }

  close(): void {
    this.ws.close();
  }
}
