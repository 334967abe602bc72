/**
 * `ipvs doctor ...`: the doctor (src/doctor) is loaded only when asked for,
 * which keeps the start of every other command lean. It writes its own
 * output.
 */
export async function runDoctorCommand(argv: string[]): Promise<number> {
  const { runDoctor } = await import('../doctor/index.js');
  return runDoctor(argv);
}
