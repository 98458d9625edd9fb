/**
 * An allocation-free drop-in for planck's `RevoluteJoint` solver.
 *
 * LunarLander steps Box2D with 180 velocity iterations (Gymnasium's 6·30), so the two
 * leg joints are solved 360 times per env step. planck's `RevoluteJoint` allocates a
 * handful of `Vec2`/`Vec3`/`Rot` objects in each call, which made the joint solver and
 * the garbage collector about half of LunarLander's step time. This subclass overrides
 * the three solver methods with the same equations (Box2D 2.3, `b2RevoluteJoint.cpp`:
 * point-to-point constraint, motor, and angle limit with the lower/upper/equal limit
 * states) on plain numbers, in the same floating-point operation order as planck's
 * code, so results are bit-identical to planck's joint (a test checks this).
 *
 * Caveat: the accumulated impulses live in this class's own fields, so the inherited
 * `getReactionForce` / `getReactionTorque` / `getMotorTorque` report zero; LunarLander
 * never reads them.
 *
 * @example
 * world.createJoint(new FastRevoluteJoint({ bodyA, bodyB, localAnchorA, localAnchorB, referenceAngle: 0 }));
 */
import { RevoluteJoint, Settings } from 'planck';
import type { RevoluteJointDef, TimeStep } from 'planck';

/** planck's internal body fields the solver reads (present at runtime, stripped from the typings). */
interface BodyInternals {
  m_sweep: { localCenter: { x: number; y: number } };
  m_invMass: number;
  m_invI: number;
  c_position: { c: { x: number; y: number }; a: number };
  c_velocity: { v: { x: number; y: number }; w: number };
}

/** planck's internal RevoluteJoint fields set by its constructor and setters. */
interface JointInternals {
  m_bodyA: BodyInternals;
  m_bodyB: BodyInternals;
  m_localAnchorA: { x: number; y: number };
  m_localAnchorB: { x: number; y: number };
  m_referenceAngle: number;
  m_lowerAngle: number;
  m_upperAngle: number;
  m_maxMotorTorque: number;
  m_motorSpeed: number;
  m_enableLimit: boolean;
  m_enableMotor: boolean;
}

/** Box2D 2.3's b2LimitState. */
const INACTIVE = 0;
const AT_LOWER = 1;
const AT_UPPER = 2;
const EQUAL = 3;

/** {@link RevoluteJoint} with an allocation-free solver (same results, see the file comment). */
export class FastRevoluteJoint extends RevoluteJoint {
  // Lever arms from the centres of mass to the anchor, in world axes (set per step).
  private rAx = 0;
  private rAy = 0;
  private rBx = 0;
  private rBy = 0;
  // The 3x3 effective mass K (columns ex, ey, ez), symmetric.
  private exx = 0;
  private exy = 0;
  private exz = 0;
  private eyx = 0;
  private eyy = 0;
  private eyz = 0;
  private ezx = 0;
  private ezy = 0;
  private ezz = 0;
  private motorMass = 0;
  // Per-step constants of the velocity iterations, set in init: which constraints are
  // active (the limit state only changes in init), the motor's target speed and
  // impulse bound (dt · max torque), and the bodies' solver velocity records.
  private motorActive = false;
  private limitActive = false;
  private motorSpeed = 0;
  private maxMotorImpulse = 0;
  private velA: BodyInternals['c_velocity'] | null = null;
  private velB: BodyInternals['c_velocity'] | null = null;
  // K-only parts of Mat33.solve33 / solve22 (inverse determinants, first cofactor
  // column), constant over a step's velocity iterations.
  private det33 = 0;
  private c33x = 0;
  private c33y = 0;
  private c33z = 0;
  private det22 = 0;
  // Accumulated impulses (point x, point y, limit) and motor impulse, for warm starting.
  private ix = 0;
  private iy = 0;
  private iz = 0;
  private motorImpulse = 0;
  private limitState = INACTIVE;
  private invMassA = 0;
  private invMassB = 0;
  private invIA = 0;
  private invIB = 0;
  private lcAx = 0;
  private lcAy = 0;
  private lcBx = 0;
  private lcBy = 0;

  constructor(def: RevoluteJointDef) {
    super(def);
  }

  /** Box2D's InitVelocityConstraints: lever arms, K, limit state, warm start. */
  override initVelocityConstraints(step: TimeStep): void {
    const j = this as unknown as JointInternals;
    const bA = j.m_bodyA;
    const bB = j.m_bodyB;
    this.lcAx = bA.m_sweep.localCenter.x;
    this.lcAy = bA.m_sweep.localCenter.y;
    this.lcBx = bB.m_sweep.localCenter.x;
    this.lcBy = bB.m_sweep.localCenter.y;
    const mA = (this.invMassA = bA.m_invMass);
    const mB = (this.invMassB = bB.m_invMass);
    const iA = (this.invIA = bA.m_invI);
    const iB = (this.invIB = bB.m_invI);

    const aA = bA.c_position.a;
    const vA = bA.c_velocity.v;
    let wA = bA.c_velocity.w;
    const aB = bB.c_position.a;
    const vB = bB.c_velocity.v;
    let wB = bB.c_velocity.w;

    const sA = Math.sin(aA);
    const cA = Math.cos(aA);
    const sB = Math.sin(aB);
    const cB = Math.cos(aB);
    const dAx = j.m_localAnchorA.x - this.lcAx;
    const dAy = j.m_localAnchorA.y - this.lcAy;
    const dBx = j.m_localAnchorB.x - this.lcBx;
    const dBy = j.m_localAnchorB.y - this.lcBy;
    const rAx = (this.rAx = cA * dAx - sA * dAy);
    const rAy = (this.rAy = sA * dAx + cA * dAy);
    const rBx = (this.rBx = cB * dBx - sB * dBy);
    const rBy = (this.rBy = sB * dBx + cB * dBy);

    const fixedRotation = iA + iB === 0.0;

    this.exx = mA + mB + rAy * rAy * iA + rBy * rBy * iB;
    this.eyx = -rAy * rAx * iA - rBy * rBx * iB;
    this.ezx = -rAy * iA - rBy * iB;
    this.exy = this.eyx;
    this.eyy = mA + mB + rAx * rAx * iA + rBx * rBx * iB;
    this.ezy = rAx * iA + rBx * iB;
    this.exz = this.ezx;
    this.eyz = this.ezy;
    this.ezz = iA + iB;

    this.motorMass = iA + iB;
    if (this.motorMass > 0.0) this.motorMass = 1.0 / this.motorMass;

    // Same expressions as Mat33.solve33 / solve22 evaluate on every call.
    this.c33x = this.eyy * this.ezz - this.eyz * this.ezy;
    this.c33y = this.eyz * this.ezx - this.eyx * this.ezz;
    this.c33z = this.eyx * this.ezy - this.eyy * this.ezx;
    let det33 = this.exx * this.c33x + this.exy * this.c33y + this.exz * this.c33z;
    if (det33 !== 0.0) det33 = 1.0 / det33;
    this.det33 = det33;
    let det22 = this.exx * this.eyy - this.eyx * this.exy;
    if (det22 !== 0.0) det22 = 1.0 / det22;
    this.det22 = det22;

    if (j.m_enableMotor === false || fixedRotation) this.motorImpulse = 0.0;

    if (j.m_enableLimit && fixedRotation === false) {
      const jointAngle = aB - aA - j.m_referenceAngle;
      if (Math.abs(j.m_upperAngle - j.m_lowerAngle) < 2.0 * Settings.angularSlop) {
        this.limitState = EQUAL;
      } else if (jointAngle <= j.m_lowerAngle) {
        if (this.limitState !== AT_LOWER) this.iz = 0.0;
        this.limitState = AT_LOWER;
      } else if (jointAngle >= j.m_upperAngle) {
        if (this.limitState !== AT_UPPER) this.iz = 0.0;
        this.limitState = AT_UPPER;
      } else {
        this.limitState = INACTIVE;
        this.iz = 0.0;
      }
    } else {
      this.limitState = INACTIVE;
    }

    this.motorActive = j.m_enableMotor && this.limitState !== EQUAL && fixedRotation === false;
    this.limitActive = j.m_enableLimit && this.limitState !== INACTIVE && fixedRotation === false;
    this.motorSpeed = j.m_motorSpeed;
    this.maxMotorImpulse = step.dt * j.m_maxMotorTorque;
    this.velA = bA.c_velocity;
    this.velB = bB.c_velocity;

    if (step.warmStarting) {
      // Scale impulses to support a variable time step.
      this.ix *= step.dtRatio;
      this.iy *= step.dtRatio;
      this.iz *= step.dtRatio;
      this.motorImpulse *= step.dtRatio;
      const Px = this.ix;
      const Py = this.iy;
      vA.x -= mA * Px;
      vA.y -= mA * Py;
      wA -= iA * (rAx * Py - rAy * Px + this.motorImpulse + this.iz);
      vB.x += mB * Px;
      vB.y += mB * Py;
      wB += iB * (rBx * Py - rBy * Px + this.motorImpulse + this.iz);
    } else {
      this.ix = 0.0;
      this.iy = 0.0;
      this.iz = 0.0;
      this.motorImpulse = 0.0;
    }
    bA.c_velocity.w = wA;
    bB.c_velocity.w = wB;
  }

  /** Box2D's SolveVelocityConstraints: motor, then limit + point (3x3) or point alone (2x2). */
  override solveVelocityConstraints(_step: TimeStep): void {
    const velA = this.velA!;
    const velB = this.velB!;
    const vA = velA.v;
    let wA = velA.w;
    const vB = velB.v;
    let wB = velB.w;
    const mA = this.invMassA;
    const mB = this.invMassB;
    const iA = this.invIA;
    const iB = this.invIB;
    const rAx = this.rAx;
    const rAy = this.rAy;
    const rBx = this.rBx;
    const rBy = this.rBy;

    if (this.motorActive) {
      const Cdot = wB - wA - this.motorSpeed;
      let impulse = -this.motorMass * Cdot;
      const oldImpulse = this.motorImpulse;
      const maxImpulse = this.maxMotorImpulse;
      const sum = this.motorImpulse + impulse;
      this.motorImpulse = sum < -maxImpulse ? -maxImpulse : sum > maxImpulse ? maxImpulse : sum;
      impulse = this.motorImpulse - oldImpulse;
      wA -= iA * impulse;
      wB += iB * impulse;
    }

    if (this.limitActive) {
      // Cdot1 = vB + wB x rB - vA - wA x rA, accumulated as planck does (0 + ... - ...).
      const cdot1x = 0 + (vB.x + -wB * rBy) - (vA.x + -wA * rAy);
      const cdot1y = 0 + (vB.y + wB * rBx) - (vA.y + wA * rAx);
      const cdot2 = wB - wA;

      // impulse = -K⁻¹ Cdot: Mat33.solve33 (Cramer's rule) with the K-only terms
      // precomputed in init; the v-dependent terms keep planck's operation order.
      const det3 = this.det33;
      const exx = this.exx;
      const exy = this.exy;
      const exz = this.exz;
      const ezx = this.ezx;
      const ezy = this.ezy;
      const ezz = this.ezz;
      const eyx = this.eyx;
      const eyy = this.eyy;
      const eyz = this.eyz;
      let px = -(det3 * (cdot1x * this.c33x + cdot1y * this.c33y + cdot2 * this.c33z));
      let py = -(
        det3 *
        (exx * (cdot1y * ezz - cdot2 * ezy) + exy * (cdot2 * ezx - cdot1x * ezz) + exz * (cdot1x * ezy - cdot1y * ezx))
      );
      let pz = -(
        det3 *
        (exx * (eyy * cdot2 - eyz * cdot1y) + exy * (eyz * cdot1x - eyx * cdot2) + exz * (eyx * cdot1y - eyy * cdot1x))
      );

      if (this.limitState === EQUAL) {
        this.ix += px;
        this.iy += py;
        this.iz += pz;
      } else if (this.limitState === AT_LOWER || this.limitState === AT_UPPER) {
        const newImpulse = this.iz + pz;
        if (this.limitState === AT_LOWER ? newImpulse < 0.0 : newImpulse > 0.0) {
          // The limit would pull: drop it and solve the point constraint alone.
          const rhsX = -1 * cdot1x + this.iz * this.ezx;
          const rhsY = -1 * cdot1y + this.iz * this.ezy;
          const det = this.det22;
          const redX = det * (this.eyy * rhsX - this.eyx * rhsY);
          const redY = det * (this.exx * rhsY - this.exy * rhsX);
          px = redX;
          py = redY;
          pz = -this.iz;
          this.ix += redX;
          this.iy += redY;
          this.iz = 0.0;
        } else {
          this.ix += px;
          this.iy += py;
          this.iz += pz;
        }
      }

      vA.x -= mA * px;
      vA.y -= mA * py;
      wA -= iA * (rAx * py - rAy * px + pz);
      vB.x += mB * px;
      vB.y += mB * py;
      wB += iB * (rBx * py - rBy * px + pz);
    } else {
      const cdotx = 0 + (vB.x + -wB * rBy) - (vA.x + -wA * rAy);
      const cdoty = 0 + (vB.y + wB * rBx) - (vA.y + wA * rAx);
      // impulse = K22⁻¹ (-Cdot) (Mat33.solve22).
      const vx = -cdotx;
      const vy = -cdoty;
      const det = this.det22;
      const px = det * (this.eyy * vx - this.eyx * vy);
      const py = det * (this.exx * vy - this.exy * vx);
      this.ix += px;
      this.iy += py;
      vA.x -= mA * px;
      vA.y -= mA * py;
      wA -= iA * (rAx * py - rAy * px);
      vB.x += mB * px;
      vB.y += mB * py;
      wB += iB * (rBx * py - rBy * px);
    }
    velA.w = wA;
    velB.w = wB;
  }

  /** Box2D's SolvePositionConstraints: angle limit, then point-to-point; true when within slop. */
  override solvePositionConstraints(_step: TimeStep): boolean {
    const j = this as unknown as JointInternals;
    const bA = j.m_bodyA;
    const bB = j.m_bodyB;
    const cA = bA.c_position.c;
    let aA = bA.c_position.a;
    const cB = bB.c_position.c;
    let aB = bB.c_position.a;
    let angularError = 0.0;
    let positionError = 0.0;
    const fixedRotation = this.invIA + this.invIB == 0.0;

    if (j.m_enableLimit && this.limitState !== INACTIVE && fixedRotation === false) {
      const angle = aB - aA - j.m_referenceAngle;
      let limitImpulse = 0.0;
      const maxCorrection = Settings.maxAngularCorrection;
      if (this.limitState === EQUAL) {
        // Prevent large angular corrections.
        const C = clamp(angle - j.m_lowerAngle, -maxCorrection, maxCorrection);
        limitImpulse = -this.motorMass * C;
        angularError = Math.abs(C);
      } else if (this.limitState === AT_LOWER) {
        let C = angle - j.m_lowerAngle;
        angularError = -C;
        // Prevent large angular corrections and allow some slop.
        C = clamp(C + Settings.angularSlop, -maxCorrection, 0.0);
        limitImpulse = -this.motorMass * C;
      } else if (this.limitState === AT_UPPER) {
        let C = angle - j.m_upperAngle;
        angularError = C;
        C = clamp(C - Settings.angularSlop, 0.0, maxCorrection);
        limitImpulse = -this.motorMass * C;
      }
      aA -= this.invIA * limitImpulse;
      aB += this.invIB * limitImpulse;
    }

    {
      const sA = Math.sin(aA);
      const cosA = Math.cos(aA);
      const sB = Math.sin(aB);
      const cosB = Math.cos(aB);
      const dAx = j.m_localAnchorA.x - this.lcAx;
      const dAy = j.m_localAnchorA.y - this.lcAy;
      const dBx = j.m_localAnchorB.x - this.lcBx;
      const dBy = j.m_localAnchorB.y - this.lcBy;
      const rAx = cosA * dAx - sA * dAy;
      const rAy = sA * dAx + cosA * dAy;
      const rBx = cosB * dBx - sB * dBy;
      const rBy = sB * dBx + cosB * dBy;

      const Cx = 0 + (cB.x + rBx) - (cA.x + rAx);
      const Cy = 0 + (cB.y + rBy) - (cA.y + rAy);
      positionError = Math.sqrt(Cx * Cx + Cy * Cy);

      const mA = this.invMassA;
      const mB = this.invMassB;
      const iA = this.invIA;
      const iB = this.invIB;
      const kxx = mA + mB + iA * rAy * rAy + iB * rBy * rBy;
      const kxy = -iA * rAx * rAy - iB * rBx * rBy;
      const kyx = kxy;
      const kyy = mA + mB + iA * rAx * rAx + iB * rBx * rBx;
      // impulse = -K⁻¹ C (Mat22.solve).
      let det = kxx * kyy - kyx * kxy;
      if (det !== 0.0) det = 1.0 / det;
      const px = -(det * (kyy * Cx - kyx * Cy));
      const py = -(det * (kxx * Cy - kxy * Cx));

      cA.x -= mA * px;
      cA.y -= mA * py;
      aA -= iA * (rAx * py - rAy * px);
      cB.x += mB * px;
      cB.y += mB * py;
      aB += iB * (rBx * py - rBy * px);
    }
    bA.c_position.a = aA;
    bB.c_position.a = aB;
    return positionError <= Settings.linearSlop && angularError <= Settings.angularSlop;
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
