import type { TaskStatus } from '@tasks/db';

/** One task of the demo account; ages are in days before the seed runs. */
export interface DemoTask {
  title: string;
  description?: string;
  status: TaskStatus;
  createdDaysAgo: number;
  /** When it was last changed; absent for tasks never touched since they were created. */
  updatedDaysAgo?: number;
}

/** A small team lead's list over about six weeks: enough to page, filter and search through. */
export const demoTasks: DemoTask[] = [
  {
    title: 'Draft the Q3 roadmap',
    description: 'One page: three bets, what we stop doing, and how we will know it worked.',
    status: 'done',
    createdDaysAgo: 41,
    updatedDaysAgo: 34,
  },
  {
    title: 'Book the team offsite venue',
    description:
      'Twelve people, two days, reachable by train. Ask finance for the budget cap first.',
    status: 'done',
    createdDaysAgo: 40,
    updatedDaysAgo: 29,
  },
  {
    title: 'Rotate the staging database password',
    status: 'done',
    createdDaysAgo: 39,
    updatedDaysAgo: 38,
  },
  {
    title: 'Review the onboarding checklist',
    description: 'New hires start on the 1st; make sure laptop, accounts and buddy are sorted.',
    status: 'done',
    createdDaysAgo: 37,
    updatedDaysAgo: 33,
  },
  {
    title: 'Write the incident report for the login outage',
    description:
      'Timeline, impact (about 40 minutes of failed logins), root cause in the token cache, ' +
      'and the follow-up actions with owners.',
    status: 'done',
    createdDaysAgo: 36,
    updatedDaysAgo: 31,
  },
  {
    title: 'Add alerting on the payment webhook error rate',
    status: 'done',
    createdDaysAgo: 35,
    updatedDaysAgo: 27,
  },
  {
    title: 'Renew the TLS certificate for the status page',
    description: 'Expires at the end of the month; automate it this time.',
    status: 'done',
    createdDaysAgo: 33,
    updatedDaysAgo: 30,
  },
  {
    title: 'Interview backend candidate (systems design round)',
    status: 'done',
    createdDaysAgo: 32,
    updatedDaysAgo: 26,
  },
  {
    title: 'Migrate the reporting job to the new scheduler',
    description: 'The old cron host is being decommissioned. Keep the 06:00 UTC run time.',
    status: 'in_progress',
    createdDaysAgo: 31,
    updatedDaysAgo: 4,
  },
  {
    title: 'Clean up unused feature flags',
    description: 'Anything fully rolled out for more than 30 days goes, together with its code.',
    status: 'open',
    createdDaysAgo: 30,
  },
  {
    title: 'Prepare the quarterly budget review',
    status: 'done',
    createdDaysAgo: 29,
    updatedDaysAgo: 21,
  },
  {
    title: 'Set up the shared on-call calendar',
    status: 'done',
    createdDaysAgo: 28,
    updatedDaysAgo: 25,
  },
  {
    title: 'Document the release checklist',
    description: 'Turn the tribal knowledge into steps anyone on the team can follow.',
    status: 'in_progress',
    createdDaysAgo: 27,
    updatedDaysAgo: 9,
  },
  {
    title: 'Upgrade Node.js on the build agents',
    status: 'open',
    createdDaysAgo: 26,
  },
  {
    title: 'Reply to the security questionnaire from Acme Corp',
    description: 'Sections 3 (encryption) and 7 (incident response) still need answers.',
    status: 'done',
    createdDaysAgo: 24,
    updatedDaysAgo: 17,
  },
  {
    title: 'Plan the mobile app beta',
    description: 'Who gets invited, which feedback channel, and the exit criteria for the beta.',
    status: 'open',
    createdDaysAgo: 23,
  },
  {
    title: 'Fix flaky checkout end-to-end test',
    description: 'Fails about one run in ten waiting for the confirmation email.',
    status: 'in_progress',
    createdDaysAgo: 22,
    updatedDaysAgo: 2,
  },
  {
    title: 'Archive last year’s project folders',
    status: 'open',
    createdDaysAgo: 21,
  },
  {
    title: 'One-to-one notes: follow up on growth plans',
    status: 'done',
    createdDaysAgo: 20,
    updatedDaysAgo: 13,
  },
  {
    title: 'Evaluate error tracking vendors',
    description: 'Shortlist of three; compare pricing per event, data residency and SSO.',
    status: 'in_progress',
    createdDaysAgo: 19,
    updatedDaysAgo: 6,
  },
  {
    title: 'Order a replacement monitor for Priya',
    status: 'done',
    createdDaysAgo: 18,
    updatedDaysAgo: 16,
  },
  {
    title: 'Write the API deprecation notice for v1 endpoints',
    description: 'Six months of notice, a migration guide, and the Sunset header on responses.',
    status: 'open',
    createdDaysAgo: 17,
  },
  {
    title: 'Load test the search endpoint',
    description: 'Target: p99 under 200 ms at twice the current peak traffic.',
    status: 'open',
    createdDaysAgo: 16,
  },
  {
    title: 'Update the privacy policy page',
    status: 'open',
    createdDaysAgo: 15,
  },
  {
    title: 'Run the database restore drill',
    description: 'Restore last night’s backup into a scratch instance and time it end to end.',
    status: 'done',
    createdDaysAgo: 14,
    updatedDaysAgo: 10,
  },
  {
    title: 'Collect feedback on the new dashboard',
    status: 'in_progress',
    createdDaysAgo: 13,
    updatedDaysAgo: 3,
  },
  {
    title: 'Submit conference talk proposal',
    description: 'Topic: what we learned running keyset pagination at scale. Deadline Friday.',
    status: 'open',
    createdDaysAgo: 12,
  },
  {
    title: 'Triage the accessibility audit findings',
    description: 'Forty-two findings; group them by component and estimate the top ten.',
    status: 'open',
    createdDaysAgo: 11,
  },
  {
    title: 'Book flights for the customer visit in Lyon',
    status: 'done',
    createdDaysAgo: 10,
    updatedDaysAgo: 8,
  },
  {
    title: 'Pair with Sam on the rate limiter design',
    status: 'in_progress',
    createdDaysAgo: 9,
    updatedDaysAgo: 1,
  },
  {
    title: 'Remove the legacy CSV export',
    description: 'Usage dropped to zero after the new export shipped; announce it first.',
    status: 'open',
    createdDaysAgo: 8,
  },
  {
    title: 'Set the team OKRs for next quarter',
    status: 'open',
    createdDaysAgo: 7,
  },
  {
    title: 'Investigate slow cold starts of the worker',
    description: 'Start-up went from 2 s to 9 s after the last dependency upgrade.',
    status: 'in_progress',
    createdDaysAgo: 6,
    updatedDaysAgo: 1,
  },
  {
    title: 'Send the monthly stakeholder update',
    status: 'open',
    createdDaysAgo: 5,
  },
  {
    title: 'Review pull request: idempotency keys for payments',
    status: 'open',
    createdDaysAgo: 4,
  },
  {
    title: 'Renew the office parking permit',
    status: 'open',
    createdDaysAgo: 4,
  },
  {
    title: 'Write tests for the invoice rounding rules',
    description: 'Cover half-cent cases in EUR and JPY, which has no minor unit.',
    status: 'open',
    createdDaysAgo: 3,
  },
  {
    title: 'Schedule the retro for the billing project',
    status: 'open',
    createdDaysAgo: 2,
  },
  {
    title: 'Check the backup retention settings',
    description: 'Compliance asks for 35 days; the bucket policy says 30.',
    status: 'open',
    createdDaysAgo: 1,
  },
  {
    title: 'Prepare the demo for Thursday’s all-hands',
    status: 'open',
    createdDaysAgo: 0,
  },
];
