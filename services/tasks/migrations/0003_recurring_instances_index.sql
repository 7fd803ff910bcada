-- RecurringTask.instances reads a series' tasks by recurring_task_id, ordered by due time;
-- without an index every read scanned the whole tasks table.
CREATE INDEX tasks_recurring ON tasks (recurring_task_id, due_at, id)
    WHERE recurring_task_id IS NOT NULL;
