/** The trainer service (service.ts): the trigger policy (policy.ts), its decision log and one training at a time. */
export { createTrainerService, type TrainerService, type TrainerServiceOptions } from './service.ts'
