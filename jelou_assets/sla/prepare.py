"""`python -m jelou_assets.sla.prepare`: write dbt_project/target/manifest.json (run by `make install`)."""

from jelou_assets.sla.dbt_project import ensure_manifest, sla_dbt_project

if __name__ == "__main__":
    ensure_manifest(force=True)
    print(f"dbt manifest ready: {sla_dbt_project.manifest_path}")
