/** One process's CPU for bench/start-cpu.ts: loading createTestApp's modules, its first app, the mean of three more. */
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const c0 = cpu();
const { createTestApp } = await import('../tests/helpers/app.js');
const { createPostgresTestDb } = await import('../tests/helpers/services.js');
const imports = cpu() - c0;
const builds: number[] = [];
for (let i = 0; i < 4; i++) {
  const db = await createPostgresTestDb();
  const a = cpu();
  const t = await createTestApp({ createDb: async () => db });
  builds.push(cpu() - a);
  await t.dispose();
}
console.log(JSON.stringify({ imports, first: builds[0], later: (builds[1] + builds[2] + builds[3]) / 3 }));
process.exit(0);
