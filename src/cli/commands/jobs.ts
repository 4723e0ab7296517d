import type { Argv, CommandModule } from 'yargs';
import { handler, type GlobalArgs, ownOptionsFirst } from '../context.js';
import { withOptions, optionsFromArgs, type ParsedArgs } from '../options.js';
import { kubernetesManifest, slurmScript, JOBS_OPTIONS, SLURM_OPTIONS, K8S_OPTIONS, type JobsOptions } from '../../pipeline/jobs.js';

const slurm: CommandModule<GlobalArgs, ParsedArgs> = {
  command: 'slurm',
  describe: 'print an sbatch script: a job array with one task per shard, then a dependent merge job (submit with sbatch <file>)',
  builder: (y) => withOptions(y, JOBS_OPTIONS, SLURM_OPTIONS)
    .example('$0 jobs slurm --data /shared/pbc --out /shared/runs/pbc --budget standard > cellgan.sbatch && sbatch cellgan.sbatch', 'one task per class') as Argv<ParsedArgs>,
  handler: handler<ParsedArgs>(async (args) => {
    process.stdout.write(await slurmScript(optionsFromArgs<JobsOptions>({ ...JOBS_OPTIONS, ...SLURM_OPTIONS }, args)));
  }),
};

const k8s: CommandModule<GlobalArgs, ParsedArgs> = {
  command: 'k8s',
  describe: 'print a Kubernetes Indexed Job (completionMode: Indexed, one pod per shard) and the merge Job, as one YAML file',
  builder: (y) => withOptions(y, JOBS_OPTIONS, K8S_OPTIONS)
    .example('$0 jobs k8s --data /data/pbc --out /data/runs/pbc --budget standard --image reg.example.org/cellgan:0.1.0 --pvc lab-data > cellgan.yaml', 'then kubectl apply as the file\'s header says') as Argv<ParsedArgs>,
  handler: handler<ParsedArgs>(async (args) => {
    process.stdout.write(await kubernetesManifest(optionsFromArgs<JobsOptions>({ ...JOBS_OPTIONS, ...K8S_OPTIONS }, args)));
  }),
};

export const jobsCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'jobs',
  describe: 'print cluster jobs for a per-class pipeline: a Slurm job array or a Kubernetes Indexed Job, each with a merge job',
  builder: (y) => y.command(ownOptionsFirst(slurm) as never).command(ownOptionsFirst(k8s) as never).demandCommand(1, 'Name a scheduler: cellgan jobs slurm or cellgan jobs k8s.'),
  handler: () => {},
};
