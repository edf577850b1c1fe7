-- The least a PostgreSQL role needs for index-warden's `warehouse` backend on Warehouse's
-- database: it reads what a plan needs and writes what Warehouse's own admin views write.
-- tests/playbooks/index_admin/test_warehouse_grants.py runs every playbook as a role with exactly these.
--
--   createuser --pwprompt warden
--   psql -d warehouse -v role=warden -v ON_ERROR_STOP=1 -f docs/warehouse-grants.sql
--
-- UPDATE on projects and release_files, and DELETE on release_descriptions, are for
-- Warehouse's own triggers (total_size, last_serial, requires_python, orphaned
-- descriptions), which run as the role whose statement fires them. Deleting a project or
-- a release cascades (ON DELETE CASCADE) to files, roles and events with the rights of
-- their tables' owner.

GRANT USAGE ON SCHEMA public TO :"role";

GRANT SELECT ON
    projects, releases, release_files, release_descriptions, release_dependencies,
    release_urls, roles, role_invitations, users, user_emails, journals, file_registry,
    project_events, user_events, file_events, prohibited_email_domains,
    prohibited_project_names, observers, observer_association, project_observations,
    release_observations, user_observations
TO :"role";

GRANT INSERT ON
    journals, project_events, user_events, file_events, projects, releases,
    release_descriptions, release_dependencies, release_files, file_registry, roles,
    prohibited_email_domains, prohibited_project_names, observers, observer_association,
    user_observations
TO :"role";

GRANT UPDATE ON
    projects, releases, release_files, users, user_emails, project_observations,
    release_observations
TO :"role";

GRANT DELETE ON projects, releases, release_descriptions, prohibited_project_names TO :"role";

GRANT USAGE ON SEQUENCE journals_id_seq, file_registry_id_seq TO :"role";
