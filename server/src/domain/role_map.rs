//! The mapping from the identity provider's groups to console roles.

use app::model::Role;

/// Console roles per provider group, parsed from `GROUP=ROLE[,ROLE...]` entries separated by
/// `;`. The group `*` matches every user of the provider.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleMap {
    entries: Vec<(String, Vec<Role>)>,
}

/// Group name that matches everyone who signs in through the provider.
pub const EVERYONE: &str = "*";

impl RoleMap {
    /// Parses a mapping such as `writ-admins=admin;platform=approver,requester`. A group name
    /// may itself contain `=` (as LDAP names do): the roles follow the last `=`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for entry in text
            .split(';')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
        {
            let Some((group, roles)) = entry.rsplit_once('=') else {
                return Err(format!(
                    "invalid entry {entry:?}: use GROUP=ROLE, such as writ-admins=admin"
                ));
            };
            let group = group.trim();
            if group.is_empty() {
                return Err(format!("invalid entry {entry:?}: the group name is empty"));
            }
            let mut parsed = Vec::new();
            for name in roles
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
            {
                let role = name.parse::<Role>().map_err(|message| {
                    format!("invalid role {name:?} for group {group:?}: {message}")
                })?;
                parsed.push(role);
            }
            if parsed.is_empty() {
                return Err(format!("invalid entry {entry:?}: no role after '='"));
            }
            entries.push((group.to_owned(), parsed));
        }
        Ok(Self { entries })
    }

    /// Returns the sorted, distinct roles that `groups` earn.
    pub fn roles_for(&self, groups: &[String]) -> Vec<Role> {
        let mut roles: Vec<Role> = self
            .entries
            .iter()
            .filter(|(group, _)| group == EVERYONE || groups.iter().any(|held| held == group))
            .flat_map(|(_, roles)| roles.iter().copied())
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn maps_groups_to_sorted_roles() {
        let map = RoleMap::parse("ops=approver,requester; admins=admin ;ops=requester").unwrap();
        assert_eq!(
            map.roles_for(&groups(&["ops", "admins"])),
            vec![Role::Admin, Role::Approver, Role::Requester]
        );
        assert_eq!(
            map.roles_for(&groups(&["ops"])),
            vec![Role::Approver, Role::Requester]
        );
        assert!(map.roles_for(&groups(&["other"])).is_empty());
    }

    #[test]
    fn everyone_and_ldap_names() {
        let map = RoleMap::parse("*=requester;cn=admins,ou=groups=admin").unwrap();
        assert_eq!(map.roles_for(&[]), vec![Role::Requester]);
        assert_eq!(
            map.roles_for(&groups(&["cn=admins,ou=groups"])),
            vec![Role::Admin, Role::Requester]
        );
    }

    #[test]
    fn rejects_bad_entries() {
        assert!(RoleMap::parse("admins").unwrap_err().contains("GROUP=ROLE"));
        assert!(
            RoleMap::parse("admins=root")
                .unwrap_err()
                .contains("\"root\"")
        );
        assert!(
            RoleMap::parse("=admin")
                .unwrap_err()
                .contains("group name is empty")
        );
        assert!(RoleMap::parse("admins=").unwrap_err().contains("no role"));
        assert_eq!(RoleMap::parse("").unwrap(), RoleMap::default());
    }
}
