-- First-party account scopes (issue 11): what a token may do with its own user's account beyond
-- the OIDC claims. The first-party CLI's client-less password grant yields them; a third-party
-- client only if an admin registers it with them. Neither is a default scope.
INSERT INTO scopes (scope_name, description, is_default) VALUES
    ('account:read', 'Read your whole account record: status, admin flag, last login', false),
    ('account:write', 'Sign you out everywhere and change your password', false)
ON CONFLICT (scope_name) DO NOTHING;
