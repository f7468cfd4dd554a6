// Groups: an address that delivers to every member, with a posting policy (anyone, members
// only, senders of the same domain).
import { useState } from "preact/hooks";
import { Group, del, enc, get, patch, post } from "../api";
import { Action, Field, Form, Loading, Page, Select, announce, useLoad, when } from "../ui";

export const policies: [string, string][] = [
  ["anyone", "Anyone may post"],
  ["members", "Members only"],
  ["domain", "Senders of the same domain"],
];

function splitList(s: string): string[] {
  return s.split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean);
}

export function Groups() {
  const list = useLoad(() => get<Group[]>("/groups"));
  const [group, setGroup] = useState("");
  const [members, setMembers] = useState("");
  const [policy, setPolicy] = useState("anyone");
  return (
    <Page title="Groups" intro="A group address delivers to each member.">
      <h2>Add a group</h2>
      <Form label="Add a group" submit="Add group" onSubmit={async () => {
        await post("/groups", { group, members: splitList(members), policy });
        announce(`Group ${group} added`);
        setGroup(""); setMembers(""); setPolicy("anyone");
        await list.reload();
      }}>
        <Field name="group" label="Group address" type="email" required value={group} onInput={setGroup} placeholder="team@example.org" />
        <Field name="members" label="Members" value={members} onInput={setMembers} multiline hint="Addresses separated by commas or new lines" />
        <Select name="policy" label="Who may post" value={policy} onChange={setPolicy} options={policies} />
      </Form>
      <h2>Groups</h2>
      <Loading state={list}>
        {(gs) => gs.length === 0 ? <p>No groups yet.</p> : <>{gs.map((g) => <GroupCard g={g} changed={list.reload} />)}</>}
      </Loading>
    </Page>
  );
}

function GroupCard({ g, changed }: { g: Group; changed: () => Promise<void> }) {
  const a = enc(g.group);
  const [policy, setPolicy] = useState(g.policy);
  const [member, setMember] = useState("");
  return (
    <section class="panel" aria-labelledby={"g-" + g.group}>
      <h3 id={"g-" + g.group}>{g.group}</h3>
      <p class="muted">created {when(g.created)}</p>
      <h4>Members</h4>
      {g.members.length === 0 ? <p class="muted">No members.</p> : (
        <ul>
          {g.members.map((m) => (
            <li>{m} <Action label="Remove" danger describedBy={undefined}
              run={async () => { await del(`/groups/${a}/members/${enc(m)}`); announce(`${m} removed from ${g.group}`); await changed(); }} /></li>
          ))}
        </ul>
      )}
      <div class="columns">
        <Form label={`Add a member to ${g.group}`} submit="Add member" onSubmit={async () => {
          await post(`/groups/${a}/members`, { member });
          announce(`${member} added to ${g.group}`);
          setMember("");
          await changed();
        }}>
          <Field name="member" label="New member" type="email" value={member} onInput={setMember} />
        </Form>
        <Form label={`Posting policy of ${g.group}`} submit="Save policy" onSubmit={async () => {
          await patch(`/groups/${a}`, { policy });
          announce(`Posting policy of ${g.group} saved`);
          await changed();
        }}>
          <Select name="policy" label="Who may post" value={policy} onChange={setPolicy} options={policies} />
        </Form>
      </div>
      <Action label="Remove group" danger confirm={`Remove the group ${g.group}?`}
        run={async () => { await del(`/groups/${a}`); announce(`Group ${g.group} removed`); await changed(); }} />
    </section>
  );
}
