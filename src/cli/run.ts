// Entry used by bin/cellgan.js (compiled) and by tests (through tsx).
import { main } from './main.js';

void main(process.argv.slice(2));
