-- People's accounts on the chat tools the handbook names, so messages reach them there.

ALTER TABLE people ADD COLUMN dingtalk_id text;
ALTER TABLE people ADD COLUMN wecom_id text;
ALTER TABLE people ADD COLUMN feishu_id text;
