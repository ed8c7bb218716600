"""Channel-neutral services: the pipeline, flow effects, students, enrollment, reminders."""
