// Preloaded into a service started by a benchmark with --profile (NODE_OPTIONS="--require
// this"): node refuses --cpu-prof in NODE_OPTIONS, and the services are spawned by
// test/support/service-process.ts with fixed arguments. Starts V8's sampling profiler and
// writes a .cpuprofile into BENCH_CPU_PROFILE_DIR when the process exits (the services exit
// through process.exit after their graceful shutdown; an inspector session on the main
// thread answers synchronously, so this works inside the 'exit' handler).
'use strict';
const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.enable');
  session.post('Profiler.start');
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  };
  process.on('exit', write);
}
