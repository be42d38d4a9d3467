"""The job, schedules and sensors: what runs the pipeline and watches it when nobody is looking."""
