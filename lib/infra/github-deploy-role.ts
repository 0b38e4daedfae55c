/**
 * The role GitHub Actions deploys with (deploy.yml): trusted only for GitHub's OIDC tokens of one
 * repository's chosen environments, and allowed only to assume the CDK bootstrap roles of its own
 * account and region — `cdk deploy` does the rest through those roles, so this role never holds
 * a permission to change a resource itself.
 */
import { Aws, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledgeBootstrapRoleAssumption } from './nag-acknowledgements';

/** GitHub's OIDC issuer (host) and the audience configure-aws-credentials asks for. */
export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';
export const GITHUB_OIDC_AUDIENCE = 'sts.amazonaws.com';
/** The default qualifier of `cdk bootstrap`. */
export const DEFAULT_BOOTSTRAP_QUALIFIER = 'hnb659fds';

/**
 * How GitHub spells the repository in the token's `sub`:
 * - `immutable`: `repo:<owner>@<ownerId>/<name>@<repoId>:…` — the default for repositories created
 *   (or renamed) since 15 July 2026; a deleted and re-created name never matches.
 * - `name`: `repo:<owner>/<name>:…` — older repositories that have not opted in.
 */
export type GitHubSubjectFormat = 'immutable' | 'name';

export interface GitHubRepositoryRef {
  /** `owner/name`. */
  readonly repository: string;
  readonly subjectFormat: GitHubSubjectFormat;
  /** Numeric id of the owner (`gh api repos/OWNER/NAME --jq .owner.id`); required for `immutable`. */
  readonly ownerId?: string;
  /** Numeric id of the repository (`gh api repos/OWNER/NAME --jq .id`); required for `immutable`. */
  readonly repositoryId?: string;
}

export interface GitHubDeployRoleProps extends GitHubRepositoryRef {
  /**
   * GitHub environments whose jobs may assume the role (`sub` = `…:environment:<name>`). Branches,
   * tags and pull requests never match: only a job that names one of these environments does.
   * @default ['production']
   */
  readonly environments?: readonly string[];
  /** @default - a new provider for token.actions.githubusercontent.com (one per account: import it if it exists) */
  readonly oidcProvider?: iam.IOidcProvider;
  /** @default DEFAULT_BOOTSTRAP_QUALIFIER */
  readonly bootstrapQualifier?: string;
  /** @default Duration.hours(1) */
  readonly maxSessionDuration?: Duration;
}

/** The `sub` claim of a job in `environment`, in the repository's subject format. */
export function githubSubject(ref: GitHubRepositoryRef, environment: string): string {
  const [owner, name] = ref.repository.split('/');
  const repo = ref.subjectFormat === 'immutable' ? `${owner}@${ref.ownerId}/${name}@${ref.repositoryId}` : `${owner}/${name}`;
  return `repo:${repo}:environment:${environment}`;
}

export class GitHubDeployRole extends Construct {
  public readonly role: iam.Role;
  public readonly oidcProvider: iam.IOidcProvider;
  /** The `sub` values the role trusts. */
  public readonly subjects: readonly string[];

  constructor(scope: Construct, id: string, props: GitHubDeployRoleProps) {
    super(scope, id);
    const environments = props.environments ?? ['production'];
    this.node.addValidation({ validate: () => problems(props, environments) });
    this.subjects = environments.map((env) => githubSubject(props, env));

    this.oidcProvider = props.oidcProvider ?? new iam.OidcProviderNative(this, 'GitHubOidcProvider', {
      url: `https://${GITHUB_OIDC_HOST}`,
      clientIds: [GITHUB_OIDC_AUDIENCE],
    });
    this.role = new iam.Role(this, 'Role', {
      description: `GitHub Actions deploys of ${props.repository} (${environments.join(', ')}): may only assume the CDK bootstrap roles`,
      assumedBy: new iam.FederatedPrincipal(
        this.oidcProvider.oidcProviderArn,
        {
          StringEquals: {
            [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_OIDC_AUDIENCE,
            [`${GITHUB_OIDC_HOST}:sub`]: this.subjects.length === 1 ? this.subjects[0] : [...this.subjects],
          },
        },
        'sts:AssumeRoleWithWebIdentity',
      ),
      maxSessionDuration: props.maxSessionDuration ?? Duration.hours(1),
    });
    const qualifier = props.bootstrapQualifier ?? DEFAULT_BOOTSTRAP_QUALIFIER;
    const { account, region } = Stack.of(this);
    const bootstrapRoles = `arn:${Aws.PARTITION}:iam::${account}:role/cdk-${qualifier}-*-${account}-${region}`;
    this.role.addToPolicy(new iam.PolicyStatement({
      sid: 'AssumeCdkBootstrapRoles',
      // deploy, file-publishing, image-publishing and lookup roles: cdk-<qualifier>-<kind>-role-<account>-<region>.
      // TagSession: the CLI passes session tags when a synthesizer asks for them (aws/aws-cdk#31089; the bootstrap roles trust it).
      actions: ['sts:AssumeRole', 'sts:TagSession'],
      resources: [bootstrapRoles],
    }));
    acknowledgeBootstrapRoleAssumption(this.role, bootstrapRoles);
  }
}

function problems(props: GitHubDeployRoleProps, environments: readonly string[]): string[] {
  const out: string[] = [];
  if (!/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(props.repository)) out.push(`repository "${props.repository}" must be owner/name`);
  if (props.subjectFormat === 'immutable' && !(/^\d+$/.test(props.ownerId ?? '') && /^\d+$/.test(props.repositoryId ?? ''))) {
    out.push('the immutable subject format needs ownerId and repositoryId (gh api repos/OWNER/NAME --jq ".owner.id, .id")');
  }
  if (environments.length === 0) out.push('environments is empty: name at least one GitHub environment');
  for (const env of environments) {
    // `*` and `?` would act as wildcards under StringLike; `:` would forge another claim part.
    if (!/^[A-Za-z0-9 ._-]{1,255}$/.test(env)) out.push(`environment "${env}" may hold only letters, digits, spaces, . _ -`);
  }
  return out;
}
