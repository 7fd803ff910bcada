-- The tasks lists at scale: an index in page order, and better row estimates.

-- Task.children, one page per parent (repository.CHILDREN_OF_TASKS: WHERE parent_id = $1
-- ORDER BY id LIMIT n): with id after parent_id, a parent's subtasks leave the index in page
-- order and the read stops after one page, nothing sorted. Partial as before: most tasks have
-- no parent. It serves every query tasks_parent served, so that one goes.
CREATE INDEX tasks_parent_list ON tasks (parent_id, id) WHERE parent_id IS NOT NULL;
DROP INDEX tasks_parent;

-- Person.assignments (repository.tasks_by_person): its two halves use raci_person and
-- raci_department. How many assignments one person has decides its plan; with the default
-- sample the planner takes anyone outside the hundred busiest for an average person, which
-- in a large plan is thousands of rows: it then plans (and JIT-compiles) for those, about
-- 50 ms, for a newcomer's one. A larger sample knows a thousand people by name.
ALTER TABLE raci_assignments ALTER COLUMN person_id SET STATISTICS 1000;
