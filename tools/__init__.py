"""Project tooling that is neither the pipeline nor its tests: generators of documentation."""
