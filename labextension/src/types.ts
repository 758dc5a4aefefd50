/** Shapes of colabmagic's server API (see colabmagic/server/). */

/** GET /colabmagic/api/resources: Colab's /api/colab/resources plus per-kernel RSS. */
export interface IResources {
  memory: { totalBytes: number; freeBytes: number };
  disks: { filesystem: { label: string; totalBytes: number; usedBytes: number } }[];
  gpus: {
    name: string;
    memoryUsedBytes: number;
    memoryTotalBytes: number;
    gpuUtilization: number;
    memoryUtilization: number;
  }[];
  kernels: { id: string; pid: number; rssBytes: number }[];
  cpu: { percent: number | null; cores: number | null };
  gpuProblem: string | null;
  takenAt: number;
}

export interface ICulling {
  idle_timeout_seconds: number;
  interval_seconds: number;
  cull_connected: boolean;
  cull_busy: boolean;
}

/** GET /colabmagic/api/session/<kernel_id> */
export interface ISessionStatus {
  kernel_id: string;
  now: number;
  started: boolean;
  started_at: number | null;
  limit_seconds: number | null;
  extended_seconds: number;
  on_expire: 'warn' | 'shutdown';
  time_left_seconds: number | null;
  expired: boolean;
  execution_state: string | null;
  last_activity: number | null;
  idle_seconds: number | null;
  cull_in_seconds: number | null;
  culling: ICulling;
}

export interface IDevice {
  spec: string;
  kind: 'cpu' | 'cuda' | 'mps';
  name: string;
  memory_total_bytes: number | null;
  details: { [key: string]: unknown };
}

export interface INotebookRuntimeMetadata {
  accelerator: string;
  colab: { gpuType: string };
}

/** GET /colabmagic/api/runtime[/<kernel_id>] */
export interface IRuntimeInfo {
  devices: IDevice[];
  kernel_id?: string;
  selection?: { spec: string; metadata: INotebookRuntimeMetadata } | null;
}

/** POST /colabmagic/api/runtime/<kernel_id> */
export interface IRuntimeChoice {
  kernel_id: string;
  spec: string;
  metadata: INotebookRuntimeMetadata;
  execute: { code: string; user_expressions: { [name: string]: string } };
}

/** What colabmagic.runtime.select() reports, read back from the kernel. */
export interface ISelection {
  spec: string;
  applied: boolean;
  restart_needed: boolean;
  message: string;
}

/** One running background run, as GET /colabmagic/api/jobs gives it. */
export interface IJob {
  name: string;
  state: string;
  epoch: number;
  epochs: number;
  steps: number;
  best: string;
  elapsed: number;
  eta: number | null;
  device: string;
}
