import type { Argv, CommandModule } from 'yargs';
import { handler, type GlobalArgs, ownOptionsFirst } from '../context.js';
import { pipelineOptions } from './pipeline.js';
import { kubernetesManifest, slurmScript, type JobsOptions } from '../../pipeline/jobs.js';
import type { BudgetName } from '../../pipeline/budgets.js';

interface JobsArgs extends GlobalArgs {
  data: string; out: string; labels?: string; classes?: string; budget: string; size?: number; mode: string; seed: number;
  iters?: number; count?: number; workers: number; recipe?: string; init?: string;
  shards?: number; gpu?: boolean; time?: string; 'merge-time'?: string; memory?: number; cpus?: number; name?: string; command?: string;
  partition?: string; account?: string; image?: string; pvc?: string; mount?: string; namespace?: string;
}

function jobOptions<T>(y: Argv<T>) {
  return pipelineOptions(y)
    .option('mode', { type: 'string', default: 'per-class', choices: ['per-class'], describe: 'jobs shard the per-class GANs (one GAN per class), so only per-class' })
    .option('shards', { type: 'number', describe: 'number of array tasks / pods (default: one per class, counted from --classes or the data folder); class k in name order goes to shard k mod N' })
    .option('gpu', { type: 'boolean', describe: 'one GPU per task (Slurm --gres=gpu:1, Kubernetes nvidia.com/gpu: 1) and the tensorflow-gpu backend' })
    .option('time', { type: 'string', describe: 'time per task, minutes or [D-]HH:MM:SS (default: from the budget, see README "Running on a cluster")' })
    .option('merge-time', { type: 'string', describe: 'time of the merge job (default: a task\'s time plus the budget\'s scoring time)' })
    .option('memory', { type: 'number', describe: 'memory per task in GiB (default: from the budget)' })
    .option('cpus', { type: 'number', describe: 'CPUs per task (default: --workers, at least 1)' })
    .option('name', { type: 'string', describe: 'job name prefix: <name>-train and <name>-merge (default cellgan)' })
    .option('command', { type: 'string', describe: 'how a job starts cellgan (default "cellgan"; e.g. "npx cellgan")' });
}

function toOptions(a: JobsArgs): JobsOptions {
  return {
    pipeline: {
      data: a.data, out: a.out, labels: a.labels, classes: a.classes?.split(',').map((c) => c.trim()).filter(Boolean),
      budget: a.budget as BudgetName, size: a.size, seed: a.seed, iters: a.iters, count: a.count, workers: a.workers, recipe: a.recipe, init: a.init,
    },
    shards: a.shards, gpu: a.gpu, time: a.time, mergeTime: a['merge-time'], memory: a.memory, cpus: a.cpus, name: a.name, command: a.command,
    partition: a.partition, account: a.account, image: a.image, pvc: a.pvc, mount: a.mount, namespace: a.namespace,
  };
}

const slurm: CommandModule<GlobalArgs, JobsArgs> = {
  command: 'slurm',
  describe: 'print an sbatch script: a job array with one task per shard, then a dependent merge job (submit with sbatch <file>)',
  builder: (y) => jobOptions(y)
    .option('partition', { type: 'string', describe: 'Slurm partition (#SBATCH --partition)' })
    .option('account', { type: 'string', describe: 'Slurm account (#SBATCH --account)' })
    .example('$0 jobs slurm --data /shared/pbc --out /shared/runs/pbc --budget standard > cellgan.sbatch && sbatch cellgan.sbatch', 'one task per class') as Argv<JobsArgs>,
  handler: handler<JobsArgs>(async (args) => {
    process.stdout.write(await slurmScript(toOptions(args)));
  }),
};

const k8s: CommandModule<GlobalArgs, JobsArgs> = {
  command: 'k8s',
  describe: 'print a Kubernetes Indexed Job (completionMode: Indexed, one pod per shard) and the merge Job, as one YAML file',
  builder: (y) => jobOptions(y)
    .option('image', { type: 'string', demandOption: true, describe: 'container image with cellgan installed' })
    .option('pvc', { type: 'string', demandOption: true, describe: 'ReadWriteMany PersistentVolumeClaim that holds --data and --out' })
    .option('mount', { type: 'string', default: '/data', describe: 'where the claim is mounted in the pods; --data and --out must be under it' })
    .option('namespace', { type: 'string', describe: 'Kubernetes namespace (default: kubectl\'s current one)' })
    .example('$0 jobs k8s --data /data/pbc --out /data/runs/pbc --budget standard --image reg.example.org/cellgan:0.1.0 --pvc lab-data > cellgan.yaml', 'then kubectl apply as the file\'s header says') as Argv<JobsArgs>,
  handler: handler<JobsArgs>(async (args) => {
    process.stdout.write(await kubernetesManifest(toOptions(args)));
  }),
};

export const jobsCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'jobs',
  describe: 'print cluster jobs for a per-class pipeline: a Slurm job array or a Kubernetes Indexed Job, each with a merge job',
  builder: (y) => y.command(ownOptionsFirst(slurm) as never).command(ownOptionsFirst(k8s) as never).demandCommand(1, 'Name a scheduler: cellgan jobs slurm or cellgan jobs k8s.'),
  handler: () => {},
};
