/** The trainer service: trigger policy, decision log and one training at a time (service.ts). */
export { createTrainerService, type TrainerService, type TrainerServiceOptions } from './service.ts'
