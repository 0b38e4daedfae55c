/**
 * The delivery lanes: one SQS FIFO queue whose message groups are the channels (per-channel order,
 * one batch in flight per channel), deduplicated by event id within each channel, with a FIFO dead-letter queue for
 * events Discord refuses for good or that keep failing.
 */
import { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DeadLetterAttribute } from '../contracts/lane';

export interface DeliveryLaneProps {
  /**
   * How long a batch stays hidden while the delivery workflow runs; after it, an unfinished
   * batch is handed out again. Must exceed the delivery workflow's timeout.
   * @default Duration.minutes(3)
   */
  readonly visibilityTimeout?: Duration;
  /**
   * Receives before an event moves to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /** @default Duration.days(4) */
  readonly retentionPeriod?: Duration;
  /** @default Duration.days(14) (SQS's maximum, time to inspect and redrive) */
  readonly deadLetterRetentionPeriod?: Duration;
}

export class DeliveryLane extends Construct {
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly maxReceiveCount: number;
  public readonly visibilityTimeout: Duration;

  constructor(scope: Construct, id: string, props: DeliveryLaneProps = {}) {
    super(scope, id);
    this.maxReceiveCount = props.maxReceiveCount ?? 5;
    this.visibilityTimeout = props.visibilityTimeout ?? Duration.minutes(3);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      fifo: true,
      // Per channel, as on the lane: one event's dead letters on two channels are two messages.
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      // The workflows give explicit deduplication ids (the delivery workflow: the lane message's id,
      // so a batch retried after a refusal collapses into one copy and a redriven one is kept again).
      contentBasedDeduplication: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: props.deadLetterRetentionPeriod ?? Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      fifo: true,
      // Each channel (message group) remembers its own deduplication ids, so one event's copies for
      // several channels share the event id and a copy of it is dropped per channel (register "fan-out").
      // Throughput stays the normal FIFO one: FifoThroughputLimit is left at its default.
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      // EventBridge can target a FIFO queue only with content-based deduplication on (the alarm
      // notices' rule has no deduplication id to give); the relay's own sends give explicit ids,
      // which take precedence over the content hash.
      contentBasedDeduplication: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: this.visibilityTimeout,
      retentionPeriod: props.retentionPeriod ?? Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
    });
    this.node.addValidation({
      validate: () => (Number.isInteger(this.maxReceiveCount) && this.maxReceiveCount >= 1 ? [] : [`maxReceiveCount must be a whole number ≥ 1 (got ${this.maxReceiveCount})`]),
    });
  }

  public grantSendMessages(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantSendMessages(grantee);
  }

  /**
   * Lets `grantee` put refused events on the dead-letter queue: `sqs:SendMessage` only (a Step
   * Functions task addresses the queue by URL; `Queue.grantSendMessages` adds two read actions).
   */
  public grantDeadLetter(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['sqs:SendMessage'], resourceArns: [this.deadLetterQueue.queueArn] });
  }

  /**
   * The Parameters of an optimized `sqs:sendMessage` task that keeps a lane event as a dead letter
   * (CDK's SqsSendMessage has no MessageAttributes): the lane event as the body (an object, or the JSON text it was queued as), exactly as it was
   * queued, so a redrive puts it back as is, and why as `RelayError`/`RelayReason` — the paths (and
   * the reason's intrinsic) given by the workflow that keeps it. The group and deduplication id
   * default to the event's own `channel` and `id`.
   */
  public deadLetterParameters(paths: { readonly event: string; readonly channel?: string; readonly id?: string; readonly error: string; readonly reason: string }): Record<string, unknown> {
    return {
      QueueUrl: this.deadLetterQueue.queueUrl,
      'MessageBody.$': paths.event,
      'MessageGroupId.$': paths.channel ?? `${paths.event}.channel`,
      'MessageDeduplicationId.$': paths.id ?? `${paths.event}.id`,
      MessageAttributes: {
        [DeadLetterAttribute.Error]: { DataType: 'String', 'StringValue.$': paths.error },
        [DeadLetterAttribute.Reason]: { DataType: 'String', 'StringValue.$': paths.reason },
      },
    };
  }

  public grantConsumeMessages(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantConsumeMessages(grantee);
  }

  /** Age of the oldest event waiting: a lane that stops draining shows here first. */
  public metricOldestEventAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateAgeOfOldestMessage(props);
  }

  /** Events waiting in the dead-letter queue. */
  public metricDeadLetters(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible(props);
  }
}
